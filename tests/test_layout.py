"""Lines the package layout holds: what each part may import."""

from __future__ import annotations

import ast
from pathlib import Path

import posttrainbench

PACKAGE = Path(posttrainbench.__file__).parent


def imported_modules(root: Path, folder: Path) -> dict[str, set[str]]:
    """``file -> modules it imports`` (anywhere in the file, function bodies too) for every file under ``folder``."""
    found = {}
    for file in sorted(folder.rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[str(file.relative_to(root))] = names
    return found


def crossings(folder: str, forbidden: tuple[str, ...], root: Path = PACKAGE) -> list[str]:
    return [f"{file} imports {name}" for file, names in imported_modules(root, root / folder).items() for name in sorted(names)
            if any(name == prefix or name.startswith(prefix + ".") for prefix in forbidden)]


def test_the_evaluator_imports_nothing_from_the_trial() -> None:
    """``ptb eval`` stands alone: the trial calls it, never the other way round."""
    assert crossings("evaluation", ("posttrainbench.trial", "posttrainbench.config", "posttrainbench.agents", "posttrainbench.api")) == []


def test_the_report_renders_from_results_alone() -> None:
    """A run page shows what the stages recorded; nothing in report/ re-derives it from the trial or the agents."""
    assert crossings("report", ("posttrainbench.trial", "posttrainbench.agents", "posttrainbench.config", "posttrainbench.api",
                                "posttrainbench.sandbox", "posttrainbench.importers")) == []


def test_results_import_nothing_that_writes_or_renders_them() -> None:
    assert crossings("results", ("posttrainbench.trial", "posttrainbench.agents", "posttrainbench.config", "posttrainbench.api",
                                 "posttrainbench.report", "posttrainbench.importers")) == []


def test_tests_mirror_the_package_layout() -> None:
    tests = Path(__file__).parent
    folders = sorted({path.parent.relative_to(tests) for path in tests.rglob("test_*.py")} - {Path(".")})
    assert folders and [folder for folder in folders if not (PACKAGE / folder).is_dir()] == []
    names = [path.name for path in tests.rglob("test_*.py")]
    assert sorted(name for name in set(names) if names.count(name) > 1) == []  # pytest imports them by base name


def test_the_rule_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    (tmp_path / "evaluation").mkdir()
    (tmp_path / "evaluation" / "m.py").write_text("def f():\n    from posttrainbench.trial.paths import RunPaths\n")
    assert crossings("evaluation", ("posttrainbench.trial",), root=tmp_path) == ["evaluation/m.py imports posttrainbench.trial.paths",
                                                                  "evaluation/m.py imports posttrainbench.trial.paths.RunPaths"]


def test_every_stage_is_one_module_with_one_entry_point() -> None:
    from posttrainbench.trial import PIPELINE
    from posttrainbench.trial.paths import STAGES

    assert tuple(stage.name for stage in PIPELINE) == STAGES
    assert [f"posttrainbench.trial.stages.{stage.name}" for stage in PIPELINE] == [stage.run.__module__ for stage in PIPELINE]
    assert all(stage.run.__name__ == "run" for stage in PIPELINE)


def test_the_marker_set_is_defined_once_in_results() -> None:
    from posttrainbench.results.records import AUDIT_FLAGS, MARKER_CODES, MARKERS

    defining = sorted(str(file.relative_to(PACKAGE)) for file in PACKAGE.rglob("*.py")
                      for node in ast.walk(ast.parse(file.read_text())) if isinstance(node, ast.Assign)
                      for target in node.targets if isinstance(target, ast.Name) and target.id in ("MARKERS", "MARKER_CODES"))
    assert defining == ["results/records.py", "results/records.py"]
    assert set(MARKER_CODES) == set(MARKERS) >= set(AUDIT_FLAGS.values())
