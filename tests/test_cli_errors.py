"""Bad input gives one line on stderr, exit code 2 and no traceback."""

from __future__ import annotations

from pathlib import Path

from conftest import ptb


def assert_one_line_error(proc, fragment: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ptb: error:") and fragment in lines[0], proc.stderr


def test_unknown_benchmark(tiny_model: Path) -> None:
    proc = ptb("run", "--agent", "copy-base", "--model", str(tiny_model), "--family", "qwen3", "--benchmark", "mmlu")
    assert_one_line_error(proc, "unknown benchmark 'mmlu'")


def test_missing_model_path(tmp_path: Path) -> None:
    proc = ptb("run", "--agent", "copy-base", "--model", str(tmp_path / "nope"), "--benchmark", "gsm8k")
    assert_one_line_error(proc, "neither a catalog id")


def test_catalog_model_not_in_cache() -> None:
    proc = ptb("run", "--agent", "copy-base", "--model", "Qwen/Qwen3-1.7B-Base", "--benchmark", "gsm8k")
    assert_one_line_error(proc, "not in the HF cache")


def test_local_model_without_family(tiny_model: Path) -> None:
    proc = ptb("run", "--agent", "copy-base", "--model", str(tiny_model), "--benchmark", "gsm8k")
    assert_one_line_error(proc, "--family")


def test_unwritable_results_dir(tiny_model: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = ptb("run", "--agent", "copy-base", "--model", str(tiny_model), "--family", "qwen3", "--benchmark", "gsm8k",
               "--results", str(blocker / "results"))
    assert_one_line_error(proc, "cannot create results directory")


def test_command_agent_without_command(tiny_model: Path) -> None:
    proc = ptb("run", "--agent", "command", "--model", str(tiny_model), "--family", "qwen3", "--benchmark", "gsm8k")
    assert_one_line_error(proc, "--agent-command")


def test_resume_of_a_non_run_directory(tmp_path: Path) -> None:
    assert_one_line_error(ptb("resume", str(tmp_path)), "not a run directory")


def test_eval_of_a_missing_model(tmp_path: Path) -> None:
    assert_one_line_error(ptb("eval", "--model-path", str(tmp_path / "x"), "--benchmark", "gsm8k"), "does not exist")
