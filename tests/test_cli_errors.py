"""The error contract of the real ``ptb`` process: bad input and usage errors give one line on stderr, exit
code 2 and no traceback; a trial that does not succeed exits 1; ``--version`` exits 0."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import ptb
from posttrainbench import __version__, api
from posttrainbench.trial.paths import STAGES, RunPaths
from posttrainbench.trial import Trial


def assert_one_line_error(proc, fragment: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ptb: error:") and fragment in lines[0], proc.stderr


def run_dir(results: Path, tiny_model: Path, run_id: str = "gsm8k_tiny_copy-base_s0_20261201T000000Z_ab12") -> RunPaths:
    """A run directory with its config and every stage marked done, as a finished trial leaves it (no work)."""
    config = api.make_config(agent="copy-base", model=str(tiny_model), family="qwen3", benchmark="gsm8k", hours=1,
                             sandbox="none", device="cpu", run_id=run_id)
    paths = Trial.create(config, results / run_id).paths
    for stage in STAGES:
        paths.stage_marker(stage).parent.mkdir(parents=True, exist_ok=True)
        paths.stage_marker(stage).write_text(json.dumps({"stage": stage, "started_at": "", "finished_at": "", "seconds": 0, "record": {"submitted": False}}))
    return paths


def corrupt_result(tmp: Path, tiny_model: Path) -> Path:
    paths = run_dir(tmp / "results", tiny_model)
    paths.result.write_text('{"run_id": ')  # cut off mid-write
    return paths.root


def corrupt_config(tmp: Path, tiny_model: Path) -> Path:
    paths = run_dir(tmp / "results", tiny_model)
    paths.config.write_text("not json")
    return paths.root


def corrupt_index(tmp: Path) -> Path:
    (tmp / "results").mkdir()
    (tmp / "results" / "index.sqlite").write_bytes(b"this is not an SQLite database" * 10)
    return tmp / "results"


def a_file(tmp: Path) -> Path:
    (tmp / "a-file").write_text("")
    return tmp / "a-file"


def without_hf_extra(tmp: Path) -> dict[str, str]:
    """An environment in which ``import inspect_ai`` fails as it does without the [hf] extra."""
    package = tmp / "shadow" / "inspect_ai"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'inspect_ai'\", name='inspect_ai')\n")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(tmp / "shadow"), os.environ.get("PYTHONPATH")]))}


def settings_file(tmp: Path, model: Path, **fields: object) -> Path:
    (tmp / "settings.json").write_text(json.dumps({"model_path": str(model), "benchmark": "gsm8k", **fields}))
    return tmp / "settings.json"


@dataclass
class Case:
    id: str
    argv: Callable[[Path, Path], list[str]]
    """(tmp_path, tiny model) -> arguments of ptb."""
    fragment: str
    """Text the error line must hold: the cause."""
    env: Callable[[Path], dict[str, str]] = field(default=lambda tmp: {})


def run_args(model: Path, *extra: str) -> list[str]:
    return ["run", "--agent", "copy-base", "--model", str(model), "--family", "qwen3", "--benchmark", "gsm8k", *extra]


CASES = [
    # usage errors, raised by typer's own copy of click
    Case("unknown option", lambda t, m: ["status", "--bogus"], "No such option: --bogus"),
    Case("unknown top-level option", lambda t, m: ["--bogus"], "No such option: --bogus"),
    Case("unknown command", lambda t, m: ["nosuch"], "No such command 'nosuch'"),
    Case("missing option", lambda t, m: ["run"], "Missing option '--agent'"),
    Case("option without its value", lambda t, m: ["run", "--agent"], "requires an argument"),
    Case("missing argument", lambda t, m: ["resume"], "Missing argument"),
    Case("not a number", lambda t, m: run_args(m, "--hours", "abc"), "Invalid value for '--hours'"),
    Case("limit below 1", lambda t, m: ["eval", "--model-path", str(m), "--benchmark", "gsm8k", "--limit", "0"], "'--limit'"),
    # bad values ptb checks itself
    Case("eval without a model", lambda t, m: ["eval", "--benchmark", "gsm8k"], "needs --model-path and --benchmark (or --settings FILE)"),
    Case("eval settings and flags", lambda t, m: ["eval", "--settings", str(a_file(t)), "--model-path", str(m)],
         "--settings holds every setting"),
    Case("eval settings missing", lambda t, m: ["eval", "--settings", str(t / "none.json")], "none.json does not exist"),
    Case("eval settings invalid", lambda t, m: ["eval", "--settings", str(settings_file(t, m, benchmark=3))], "not a valid EvalSettings"),
    Case("eval chat template", lambda t, m: ["eval", "--model-path", str(m), "--benchmark", "gsm8k", "--chat-template", "mine"],
         "unknown --chat-template 'mine'; known: upstream, project"),
    Case("unknown benchmark", lambda t, m: ["run", "--agent", "copy-base", "--model", str(m), "--family", "qwen3", "--benchmark", "mmlu"],
         "unknown benchmark 'mmlu'"),
    Case("missing model path", lambda t, m: ["run", "--agent", "copy-base", "--model", str(t / "nope"), "--benchmark", "gsm8k"],
         "neither a catalog id"),
    Case("catalog model not in the cache", lambda t, m: ["run", "--agent", "copy-base", "--model", "Qwen/Qwen3-1.7B-Base", "--benchmark", "gsm8k"],
         "not in the HF cache"),
    Case("local model without family", lambda t, m: ["run", "--agent", "copy-base", "--model", str(m), "--benchmark", "gsm8k"], "--family"),
    Case("unwritable results folder", lambda t, m: run_args(m, "--results", str(a_file(t) / "results")), "cannot create results directory"),
    Case("command agent without command", lambda t, m: ["run", "--agent", "command", "--model", str(m), "--family", "qwen3", "--benchmark", "gsm8k"],
         "--agent-command"),
    Case("run --device gpu", lambda t, m: run_args(m, "--device", "gpu"), "unknown --device 'gpu'"),
    Case("run --eval-backend", lambda t, m: run_args(m, "--eval-backend", "tgi"), "unknown --eval-backend 'tgi'"),
    Case("run --eval-profile", lambda t, m: run_args(m, "--eval-profile", "turbo"), "unknown --eval-profile 'turbo'"),
    Case("negative grace minutes", lambda t, m: run_args(m, "--grace-minutes", "-1"), "grace_minutes"),
    Case("bad PTB_MONITOR_INTERVAL", lambda t, m: run_args(m), "PTB_MONITOR_INTERVAL", env=lambda t: {"PTB_MONITOR_INTERVAL": "often"}),
    Case("eval --device gpu", lambda t, m: ["eval", "--model-path", str(m), "--benchmark", "gsm8k", "--device", "gpu"], "unknown --device 'gpu'"),
    Case("eval of a missing model", lambda t, m: ["eval", "--model-path", str(t / "x"), "--benchmark", "gsm8k"], "does not exist"),
    Case("eval without the [hf] extra", lambda t, m: ["eval", "--model-path", str(m), "--benchmark", "gsm8k", "--device", "cpu"],
         "pip install 'posttrainbench[hf]'", env=without_hf_extra),
    Case("baseline --device gpu", lambda t, m: ["baseline", "--models", str(m), "--kind", "base_zero_shot", "--device", "gpu"],
         "unknown --device 'gpu'"),
    Case("baseline --backend", lambda t, m: ["baseline", "--models", str(m), "--kind", "base_zero_shot", "--backend", "tgi"],
         "unknown --backend 'tgi'"),
    # results on disk
    Case("resume of a non-run directory", lambda t, m: ["resume", str(t)], "not a run directory"),
    Case("resume with a corrupt result.json", lambda t, m: ["resume", str(corrupt_result(t, m))], "result.json: not valid JSON"),
    Case("resume with a corrupt config.json", lambda t, m: ["resume", str(corrupt_config(t, m))], "config.json: not valid JSON"),
    Case("status with a corrupt result.json", lambda t, m: ["status", "--results", str(corrupt_result(t, m).parent)], "result.json: not valid JSON"),
    Case("status --results naming a file", lambda t, m: ["status", "--results", str(a_file(t))], "is not a directory"),
    Case("report --results naming a file", lambda t, m: ["report", "--results", str(a_file(t))], "is not a directory"),
    Case("status --results mistyped", lambda t, m: ["status", "--results", str(t / "reslts")], "does not exist"),
    Case("import of a missing tree", lambda t, m: ["import", "upstream", str(t / "nope"), "--results", str(t / "imported")],
         "nope is not a directory"),
    Case("report --results mistyped", lambda t, m: ["report", "--results", str(t / "reslts")], "does not exist"),
    # a machine that cannot run the trial: found before a run directory (and a failed leaderboard cell) exists
    Case("run without bubblewrap", lambda t, m: run_args(m, "--device", "cpu", "--results", str(t / "results")),
         "sandbox bubblewrap cannot run here: bwrap not found", env=lambda t: {"PATH": str(Path(sys.executable).parent)}),
    Case("report with a corrupt index", lambda t, m: ["report", "--results", str(corrupt_index(t))], "index.sqlite: file is not a database"),
    Case("report --format html --out naming a file", lambda t, m: ["report", "--results", str(t), "--format", "html", "--out", str(a_file(t))],
         "is a file"),
    Case("report --format unknown", lambda t, m: ["report", "--results", str(t), "--format", "xml"], "unknown format 'xml'"),
    Case("trace of a directory", lambda t, m: ["trace", "codex", str(t)], "is a directory"),
    Case("trace of a missing file", lambda t, m: ["trace", "codex", str(t / "nope.jsonl")], "No such file"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_line_and_exit_code_2(case: Case, tiny_model: Path, tmp_path: Path) -> None:
    argv = case.argv(tmp_path, tiny_model)
    assert_one_line_error(ptb(*argv, env=case.env(tmp_path)), case.fragment)


def test_debug_keeps_the_traceback() -> None:
    proc = ptb("status", "--bogus", env={"PTB_DEBUG": "1"})
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_version_and_help_state_the_exit_codes() -> None:
    version = ptb("--version")
    assert (version.returncode, version.stdout.strip(), version.stderr) == (0, f"ptb {__version__}", "")
    help_text = " ".join(ptb("--help", env={"COLUMNS": "200"}).stdout.split())
    assert "Exit codes: 0 success; 1 the work failed" in help_text and "2 bad input or usage" in help_text


def test_a_failed_trial_exits_1_and_so_does_its_resume(tiny_model: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    proc = ptb("run", "--agent", "command", "--agent-command", "echo thinking; exit 3", "--model", str(tiny_model), "--family", "qwen3",
               "--benchmark", "gsm8k", "--hours", "0.05", "--device", "cpu", "--sandbox", "none", "--results", str(results), "--json")
    assert proc.returncode == 1, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["status"] == "no_submission" and result["solve"]["exit_code"] == 3
    cause = proc.stderr.splitlines()[-1]  # the cause on the error line, not only in the agent's log
    assert cause.startswith(f"ptb: error: trial {result['run_id']} ended no_submission: ") and "exit code 3" in cause
    assert cause.endswith("thinking") and str(results / result["run_id"] / "agent" / "output.log") in cause
    resumed = ptb("resume", str(results / result["run_id"]))
    assert resumed.returncode == 1 and "no_submission" in resumed.stdout, resumed.stderr[-2000:]


def test_status_shows_whole_run_ids_on_a_narrow_terminal_and_in_a_pipe(tiny_model: Path, tmp_path: Path) -> None:
    # two ids that differ only at the end: a truncated column would show them the same
    ids = [f"gsm8k_tiny-qwen3-with-a-long-name_copy-base_s0_20261201T000000Z_ab1{n}" for n in (1, 2)]
    for run_id in ids:
        run_dir(tmp_path / "results", tiny_model, run_id)
    for env in ({}, {"TTY_COMPATIBLE": "1", "COLUMNS": "100"}):  # a pipe; a terminal narrower than the table
        proc = ptb("status", "--results", str(tmp_path / "results"), env=env)
        assert proc.returncode == 0, proc.stderr
        assert all(run_id in proc.stdout for run_id in ids), proc.stdout


def test_status_lists_the_readable_runs_beside_a_corrupt_one(tiny_model: Path, tmp_path: Path) -> None:
    good = run_dir(tmp_path / "results", tiny_model, "gsm8k_good_s0")
    good.stage_marker("record").unlink()  # still in its record stage: no result.json needed
    corrupt_result(tmp_path, tiny_model)
    proc = ptb("status", "--results", str(tmp_path / "results"), "--json")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    states = {row["run_id"]: row["state"] for row in json.loads(proc.stdout)}
    assert states["gsm8k_good_s0"] == "at record" and states["gsm8k_tiny_copy-base_s0_20261201T000000Z_ab12"].startswith("unreadable: ")


def test_doctor_shows_the_extras_as_written_not_as_markup() -> None:
    proc = ptb("doctor")
    assert "[hf] evaluator" in proc.stdout and "[vllm] backend" in proc.stdout, proc.stdout
    assert "pip install 'posttrainbench'" not in proc.stdout  # a hint that lost its [extra]


def test_an_interrupted_run_exits_130_and_says_how_to_resume(tiny_model: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    results = tmp_path / "results"
    proc = subprocess.Popen([sys.executable, "-m", "posttrainbench", "run", "--agent", "command", "--agent-command", "sleep 60",
                             "--model", str(tiny_model), "--family", "qwen3", "--benchmark", "gsm8k", "--hours", "0.05",
                             "--device", "cpu", "--sandbox", "none", "--results", str(results)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list(results.glob("*/agent/output.log")):
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    [run] = list(results.iterdir())
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    assert f"to finish this trial later: ptb resume {run}" in stderr and stderr.splitlines()[-1] == "ptb: interrupted"


def test_a_failed_import_leaves_no_results_folder(tmp_path: Path) -> None:
    proc = ptb("import", "upstream", str(tmp_path / "nope"), "--results", str(tmp_path / "imported"))
    assert proc.returncode == 2 and not (tmp_path / "imported").exists()


def test_a_failed_agent_is_quoted_by_its_last_line_with_words(tmp_path: Path) -> None:
    """The agent's log stamps every line; a stamped blank line is not the cause worth quoting."""
    from types import SimpleNamespace

    from posttrainbench.cli import _failure_cause

    log = tmp_path / "agent" / "output.log"
    log.parent.mkdir()
    log.write_text("[2026-12-06T23:52:19Z] CppCompileError: g++ failed\n[2026-12-06T23:52:20Z] \n[2026-12-06T23:52:20Z]\n")
    result = SimpleNamespace(error=None, solve=SimpleNamespace(reason="error", exit_code=1))
    assert _failure_cause(result, tmp_path).endswith("CppCompileError: g++ failed")
