"""``ptb import upstream``: re-score a results tree in the original PostTrainBench layout.

The layout, and how each part maps here:

- ``RESULTS_DIR/<method>/`` is one method folder, named ``<agent>_<config>_<hours>h[_<N>gpu]<suffix>``
  (``claude_claude-opus-4-6_10h_run2``). Its **label** (leaderboard row) is the method name without the
  seed token, and its **seed** is that token's number: ``_run<N>`` or ``_seed<N>`` anywhere in the suffix
  (``_v6_seed1``); no token means seed 0. ``--label-map`` (a JSON object ``{"<method>": "<label>"}``) groups
  methods under one label, as the original's hard-coded agent map does; seeds then come from the tokens, or
  from the methods' order where tokens repeat.
- ``<method>/<task>_<Org>_<Model>_<id>/`` is one run (``gsm8k_Qwen_Qwen3-4B-Base_16775298``): benchmark,
  model ``Org/Model`` and the cluster id. Per (benchmark, model) the highest id wins, as in the original.
- In a run: ``metrics.json`` (``accuracy``) makes it a success; without it, a run without ``time_taken.txt``
  never finished and one without ``final_model/`` submitted nothing (evaluation error and not submitted
  here). ``time_taken.txt`` (``H:MM:SS``) is the solve time. ``contamination_judgement.txt`` and
  ``disallowed_model_judgement.txt`` become the audit verdicts: ``contamination detected`` /
  ``disallowed use detected`` are flags; a missing file or unexpected text is an ``error`` verdict, which
  the scoring treats as the original does (the base model's score counts). ``prompt.txt`` and the agent's
  raw output ``solve_out.txt`` are copied into the run directory; where this project has a parser for the
  agent's scaffold, the output is parsed into events and a transcript, as a trial's collect stage does.
- The method ``baseline_zeroshot`` (or ``baseline``) holds the untouched models' runs: base models become
  ``base_zero_shot`` baselines, instruct models ``instruct`` baselines.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posttrainbench import __version__
from posttrainbench.catalog import all_models
from posttrainbench.errors import PtbError, UnknownNameError
from posttrainbench.fileio import iso_now, write_json_atomic
from posttrainbench.results import index
from posttrainbench.results.index import Baseline
from posttrainbench.results.schema import (
    AuditRecord,
    CollectRecord,
    EvaluateRecord,
    Evidence,
    Metrics,
    Result,
    SolveRecord,
    TraceSummary,
    Verdict,
)
from posttrainbench.trial.paths import RunPaths
from posttrainbench.trial.stages.record import run_files

BASELINE_METHODS = ("baseline_zeroshot", "baseline")
_METHOD = re.compile(r"^(?P<agent>[^_]+)_(?P<config>.+?)_(?P<hours>\d+(?:\.\d+)?)h(?P<gpus>_\d+gpu)?(?P<suffix>(?:_.*)?)$")
_SEED = re.compile(r"_(?:run|seed)(\d+)(?=_|$)")
_RUN = re.compile(r"^(?P<benchmark>[^_]+)_(?P<org>[^_]+)_(?P<model>[^_]+)_(?P<id>\d+)$")
UPSTREAM_AGENTS = {"claude": "claude-code", "gemini": "gemini-cli"}
"""Agent names of the original's method folders that differ from this project's scaffold names."""
VERDICT_TEXT = {
    "contamination": ("contamination_judgement.txt", "no contamination detected", "contamination detected"),
    "disallowed_model": ("disallowed_model_judgement.txt", "only allowed use detected", "disallowed use detected"),
}


@dataclass(frozen=True)
class Method:
    name: str
    agent: str
    hours: float
    label: str
    seed: int | None


@dataclass
class ImportReport:
    trials: int = 0
    baselines: int = 0
    methods: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Folders that are not a method or a run, with why."""

    def to_dict(self) -> dict[str, Any]:
        return {"trials": self.trials, "baselines": self.baselines, "methods": self.methods, "skipped": self.skipped}


def parse_method(name: str, label_map: dict[str, str]) -> Method | None:
    found = _METHOD.match(name)
    if found is None:
        return None
    seed = _SEED.search(found["suffix"])
    label = label_map.get(name) or (name[: found.start("suffix")] + _SEED.sub("", found["suffix"]) if seed else name)
    return Method(name, found["agent"], float(found["hours"]), label, int(seed.group(1)) if seed else None)


def latest_runs(method_dir: Path, report: ImportReport) -> dict[tuple[str, str], Path]:
    """The run folder with the highest cluster id per (benchmark, model)."""
    best: dict[tuple[str, str], tuple[int, Path]] = {}
    for run in sorted(p for p in method_dir.iterdir() if p.is_dir()):
        found = _RUN.match(run.name)
        if found is None:
            report.skipped.append(f"{method_dir.name}/{run.name}: not <task>_<Org>_<Model>_<id>")
            continue
        key = (found["benchmark"], f"{found['org']}/{found['model']}")
        if key not in best or int(found["id"]) > best[key][0]:
            best[key] = (int(found["id"]), run)
    return {key: path for key, (_, path) in best.items()}


def import_upstream(source: Path, results_root: Path, label_map: dict[str, str] | None = None) -> ImportReport:
    if not source.is_dir():
        raise PtbError(f"{source} is not a directory")
    report = ImportReport()
    methods: list[Method] = []
    for folder in sorted(p for p in source.iterdir() if p.is_dir()):
        if folder.name in BASELINE_METHODS:
            report.baselines += _import_baselines(folder, results_root, report)
            continue
        method = parse_method(folder.name, label_map or {})
        if method is None:
            report.skipped.append(f"{folder.name}: not <agent>_<config>_<hours>h<suffix>")
            continue
        methods.append(method)
    imported = []
    for method, seed in _seeds(methods).items():
        report.methods.append(method.name)
        for (benchmark, model), run in latest_runs(source / method.name, report).items():
            result = _result(method, seed, benchmark, model, run)
            paths = RunPaths(results_root / result.run_id)
            _copy_run_files(run, paths)
            trace = _parse_trace(method.agent, paths)
            result.collect = result.collect.model_copy(update={"trace": trace})  # type: ignore[union-attr]
            result.files = run_files(paths)
            write_json_atomic(paths.result, result.model_dump(mode="json"))
            run_dir = paths.root
            imported.append((result, run_dir))
    index.upsert_many(results_root, imported)
    report.trials = len(imported)
    return report


def _seeds(methods: list[Method]) -> dict[Method, int]:
    """Each method's seed within its label: its token's number, or its order where tokens are missing or repeat."""
    by_label: dict[str, list[Method]] = defaultdict(list)
    for method in methods:
        by_label[method.label].append(method)
    seeds = {}
    for group in by_label.values():
        tokens = [m.seed for m in group]
        unique = None not in tokens and len(set(tokens)) == len(tokens)
        for order, method in enumerate(group):
            seeds[method] = method.seed if unique else order  # type: ignore[assignment]
    return seeds


def _result(method: Method, seed: int, benchmark: str, model: str, run: Path) -> Result:
    metrics = _read_json(run / "metrics.json")
    wall = _seconds((run / "time_taken.txt").read_text()) if (run / "time_taken.txt").is_file() else None
    submitted = (run / "final_model").is_dir()
    if isinstance(metrics, dict) and isinstance(metrics.get("accuracy"), int | float):
        status = "success"
    elif not submitted and (run / "time_taken.txt").is_file():
        status = "no_submission"
    else:
        status = "error"
    return Result(
        run_id=f"upstream__{method.name}__{run.name}", status=status, label=method.label, agent=method.agent, model=model,  # type: ignore[arg-type]
        benchmark=benchmark, seed=seed, hours=method.hours, sandbox="upstream", device="cuda",
        solve=SolveRecord(wall_seconds=wall, budget_seconds=method.hours * 3600),
        collect=CollectRecord(submitted=status == "success" or submitted),
        evaluation=EvaluateRecord(metrics=Metrics.model_validate(metrics)) if status == "success" else None,
        audit=AuditRecord(verdicts=[_verdict(run, check) for check in VERDICT_TEXT]), ptb_version=__version__, finished_at=iso_now(),
        imported_from=str(run.resolve()),
    )


def _verdict(run: Path, check: str) -> Verdict:
    name, clean, flagged = VERDICT_TEXT[check]
    path = run / name
    if not path.is_file():
        return Verdict(check=check, status="error", evidence=[Evidence(rule="upstream judgement", detail=f"{name} missing")])
    text = path.read_text(errors="replace").strip()
    verdict = {clean: "clean", flagged: "flagged"}.get(text.lower(), "error")
    evidence = f"{name}: {text[:200]!r}" if verdict != "error" else f"{name}: unexpected content {text[:200]!r}"
    return Verdict(check=check, status=verdict, evidence=[Evidence(rule="upstream judgement", detail=evidence, file=name)])  # type: ignore[arg-type]


def _import_baselines(folder: Path, results_root: Path, report: ImportReport) -> int:
    base_ids = {m.id for m in all_models()}
    instruct_ids = {m.instruct for m in all_models()}
    baselines = []
    for (benchmark, model), run in latest_runs(folder, report).items():
        metrics = _read_json(run / "metrics.json")
        if not isinstance(metrics, dict) or not isinstance(metrics.get("accuracy"), int | float):
            report.skipped.append(f"{folder.name}/{run.name}: no accuracy in metrics.json")
            continue
        kind = "base_zero_shot" if model in base_ids else "instruct" if model in instruct_ids else None
        if kind is None:
            report.skipped.append(f"{folder.name}/{run.name}: {model} is neither a catalog base nor an instruct model")
            continue
        baselines.append(Baseline(model, benchmark, kind, float(metrics["accuracy"]), f"upstream {run.resolve()}"))
    index.upsert_baselines(results_root, baselines)
    return len(baselines)


def _copy_run_files(run: Path, paths: RunPaths) -> None:
    paths.agent_dir.mkdir(parents=True, exist_ok=True)
    if (run / "prompt.txt").is_file():
        shutil.copyfile(run / "prompt.txt", paths.prompt)
    if (run / "solve_out.txt").is_file():
        shutil.copyfile(run / "solve_out.txt", paths.output_log)


def _parse_trace(agent: str, paths: RunPaths) -> TraceSummary | None:
    """The agent's output parsed into events and a transcript, where this project has its scaffold's parser."""
    import posttrainbench.agents  # noqa: F401  (registers the scaffolds)
    from posttrainbench.agents.scaffold import ScaffoldAgent
    from posttrainbench.agents.trace import save_trace
    from posttrainbench.registry import lookup

    try:
        scaffold = lookup("agent", UPSTREAM_AGENTS.get(agent, agent))
    except UnknownNameError:
        return None
    if not issubclass(scaffold, ScaffoldAgent) or not paths.output_log.is_file():
        return None
    trace = scaffold.parse(paths.output_log.read_text(errors="replace"))
    return save_trace(trace, paths.events, paths.transcript)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _seconds(text: str) -> float | None:
    """``H:MM:SS`` (hours may exceed 24) as seconds; None when it is not that."""
    found = re.fullmatch(r"\s*(\d+):([0-5]?\d):([0-5]?\d)\s*", text)
    return None if found is None else float(int(found[1]) * 3600 + int(found[2]) * 60 + int(found[3]))
