"""Whole trials: real sandbox, real agent processes, real evaluation on a tiny model."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from posttrainbench import api
from posttrainbench.config import EvalOverrides
from posttrainbench.evaluation.eval_settings import EvalSettings
from posttrainbench.fileio import read_model
from posttrainbench.trial.paths import STAGES, RunPaths
from posttrainbench.results.index import load_results
from posttrainbench.status import run_state
from posttrainbench import trial
from posttrainbench.trial.context import Context

pytestmark = [pytest.mark.requires_bwrap, pytest.mark.slow]


def config_for(tiny_model: Path, demo_gsm8k: Path, agent: str = "command", command: str | None = None, **kw: object):
    return api.make_config(
        agent=agent, agent_args={"command": command} if command else {}, model=str(tiny_model), family="qwen3",
        benchmark="gsm8k", hours=kw.pop("hours", 0.05), device="cpu", sandbox=kw.pop("sandbox", "bubblewrap"),  # type: ignore[arg-type]
        evaluation=EvalOverrides(limit=2, max_tokens=[8], data=str(demo_gsm8k)), grace_minutes=kw.pop("grace_minutes", 0.5),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_command_agent_that_copies_the_base_model(tiny_model: Path, demo_gsm8k: Path, isolated_env: Path) -> None:
    command = ('cp -r "$PTB_BASE_MODEL_PATH" final_model && test "$(cat "$PTB_PROMPT_FILE")" = "$(printf %s "$PTB_PROMPT")" '
               '&& bash timer.sh && echo secret=${PTB_SECRET_PROBE:-none} && python -c "import sys, torch; print(sys.prefix)" '
               '&& ls -A "$(dirname "$PWD")" | wc -l')
    os.environ["PTB_SECRET_PROBE"] = "leak"
    try:
        result = api.run(config_for(tiny_model, demo_gsm8k, command=command))
    finally:
        del os.environ["PTB_SECRET_PROBE"]
    paths = RunPaths(isolated_env / "results" / result.run_id)
    assert result.status == "success", result.error
    assert result.solve and result.solve.reason == "normal"
    assert result.submitted and (paths.final_model / "config.json").is_file()
    assert not (paths.workspace / "final_model").exists()
    assert result.metrics and result.metrics.n == 2 and result.metrics.max_tokens == 8
    assert run_state(paths.root)["accuracy"] == result.accuracy is not None  # ptb status reads the typed result
    assert result.protocol_overrides["limit"] == 2
    assert {v.check: v.status for v in result.verdicts} == {"contamination": "clean", "disallowed_model": "clean", "tampering": "clean", "api_misuse": "clean"}
    log = paths.output_log.read_text()
    assert "Remaining time (hours:minutes):" in log
    assert re.search(r"\] 0:0[23]$", log, re.MULTILINE)  # 3 minutes budget, read within the first seconds
    assert "secret=none" in log
    assert f"] {sys.prefix}\n" in log  # `python` in the sandbox is the harness's own, with torch
    assert log.splitlines()[-1].endswith("] 1")  # the run directory's siblings are hidden: only workspace
    assert json.loads(paths.result.read_text())["status"] == "success"
    assert paths.monitor.read_text().count("\n") >= 1
    assert [r.run_id for r in load_results(isolated_env / "results")] == [result.run_id]
    settings = read_model(paths.attempt_settings(1), EvalSettings)  # what the evaluation process was handed, whole
    assert (settings.model_path, settings.limit, settings.max_tokens, settings.device) == (paths.final_model, 2, 8, "cpu")
    stray = [str(file.relative_to(paths.root)) for file in paths.root.rglob("*") if file.is_file() and not paths.named(file)]
    assert stray == []  # every file of the run directory is named by RunPaths


def test_agent_that_leaves_no_final_model(tiny_model: Path, demo_gsm8k: Path) -> None:
    result = api.run(config_for(tiny_model, demo_gsm8k, command="echo thinking; exit 3"))
    assert result.status == "no_submission"
    assert result.solve and (result.solve.reason, result.solve.exit_code) == ("error", 3)
    assert not result.submitted and result.metrics is None


def test_agent_past_its_deadline_is_killed_and_its_model_still_evaluated(tiny_model: Path, demo_gsm8k: Path) -> None:
    command = 'cp -r "$PTB_BASE_MODEL_PATH" final_model; trap "" TERM; sleep 600'
    started = time.monotonic()
    result = api.run(config_for(tiny_model, demo_gsm8k, command=command, hours=1 / 3600, grace_minutes=0.02))
    assert time.monotonic() - started < 120
    assert result.solve and result.solve.reason == "timeout"
    assert result.status == "success"


def with_runs(monkeypatch: pytest.MonkeyPatch, runs: dict[str, Callable[[Context], object]]) -> None:
    """Replace the entry points of some stages of the pipeline."""
    pipeline = tuple(dataclasses.replace(step, run=runs.get(step.name, step.run)) for step in trial.PIPELINE)
    monkeypatch.setattr(trial, "PIPELINE", pipeline)


class Crash(BaseException):
    """Stands in for the harness being killed in the middle of a stage."""


@pytest.mark.parametrize("stage", STAGES)
def test_resume_after_a_crash_in_each_stage(stage: str, tiny_model: Path, demo_gsm8k: Path, isolated_env: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_for(tiny_model, demo_gsm8k, agent="copy-base")
    original = {step.name: step.run for step in trial.PIPELINE}

    def crash(context: Context) -> object:
        original[stage](context)  # the stage does its work, then the harness dies before the marker is written
        raise Crash

    with_runs(monkeypatch, {stage: crash})
    with pytest.raises(Crash):
        api.run(config)
    run_dir = isolated_env / "results" / config.run_id
    paths = RunPaths(run_dir)
    before = {s: paths.stage_marker(s).stat().st_mtime_ns for s in STAGES if paths.stage_marker(s).exists()}
    assert stage not in before
    calls: list[str] = []
    with_runs(monkeypatch, {name: lambda context, run=run, n=name: (calls.append(n), run(context))[1] for name, run in original.items()})
    result = api.resume(run_dir)
    assert result.status == "success", result.error
    assert calls == list(STAGES[STAGES.index(stage):])  # finished stages were not redone
    assert all(paths.stage_marker(s).stat().st_mtime_ns == t for s, t in before.items())
    if stage == "solve":
        assert result.solve and result.solve.segments == 1  # the agent had finished: never relaunched


def test_resume_after_the_harness_is_killed_mid_solve(tiny_model: Path, demo_gsm8k: Path, isolated_env: Path) -> None:
    # First launch: mark the workspace and hang. Second launch (after resume): submit.
    command = ('if [ -e first_run ]; then cp -r "$PTB_BASE_MODEL_PATH" final_model; '
               'else touch first_run; sleep 600; fi')
    config = config_for(tiny_model, demo_gsm8k, command=command, hours=0.1)
    config_file = isolated_env / "config.json"
    config_file.write_text(config.model_dump_json())
    script = ("import sys; from pathlib import Path; from posttrainbench import api; from posttrainbench.config import TrialConfig; "
              "api.run(TrialConfig.model_validate_json(Path(sys.argv[1]).read_text()))")
    harness = subprocess.Popen([sys.executable, "-c", script, str(config_file)], start_new_session=True)
    marker = isolated_env / "results" / config.run_id / "workspace" / "first_run"
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline and harness.poll() is None
        time.sleep(0.1)
    os.killpg(harness.pid, signal.SIGKILL)
    harness.wait()
    result = api.resume(isolated_env / "results" / config.run_id)
    assert result.status == "success", result.error
    assert result.solve and result.solve.segments == 2 and result.solve.reason == "normal"
    state = json.loads(RunPaths(isolated_env / "results" / config.run_id).stage_started("solve").read_text())
    assert state["segments"][0]["reason"] == "interrupted" and state["segments"][0]["wall_seconds"] >= 0


def test_hostile_agent_changes_nothing_on_the_host(tiny_model: Path, demo_gsm8k: Path, isolated_env: Path) -> None:
    """An agent (uid 0 inside) attacks the host's /, the invoking user's home, the cgroup tree and a kernel
    setting; none of it reaches the host or the run directory, and the trial still records its result."""
    tag = f"ptb-test-{os.getpid()}-{isolated_env.name}"
    victim, link, secret_file = Path(f"/{tag}-victim"), Path(f"/{tag}-link"), Path.home() / f".{tag}-credentials"
    secret = f"SECRET-{tag}-do-not-leak"
    setting = Path("/proc/sys/kernel/printk_ratelimit")
    before = setting.read_text()
    escapes = [Path(f"/{tag}-new"), Path(f"/{tag}-dir"), Path(f"/{tag}-link2"),
               Path(f"/sys/fs/cgroup/{tag}"), Path(f"/sys/fs/cgroup/memory/{tag}")]
    command = f"""
        touch /{tag}-new; mkdir /{tag}-dir; echo pwned > /{tag}-dir/f
        echo pwned > {victim}; rm -f {link}; ln -s /etc /{tag}-link2
        mkdir /sys/fs/cgroup/{tag} /sys/fs/cgroup/memory/{tag}; echo 12345 > {setting}
        cat {secret_file} > stolen.txt; cp -r {Path.home()} home-copy; cat {secret_file}; ls -A {Path.home()}
        cp -r "$PTB_BASE_MODEL_PATH" final_model; ln -s {secret_file} final_model/notes.txt  # the harness resolves it
    """
    victim.write_text("original\n")
    os.symlink("usr/bin", link)
    secret_file.write_text(secret)
    try:
        result = api.run(config_for(tiny_model, demo_gsm8k, command=command))
        assert result.status == "success", result.error
        assert json.loads((isolated_env / "results" / result.run_id / "result.json").read_text())["collect"]["submitted"]
        assert victim.read_text() == "original\n" and os.readlink(link) == "usr/bin"
        assert [path for path in escapes if os.path.lexists(path)] == []
        assert setting.read_text() == before
        run_dir = isolated_env / "results" / result.run_id
        leaked = [path for path in run_dir.rglob("*") if path.is_file() and secret.encode() in path.read_bytes()]
        assert leaked == []
        collected = json.loads((run_dir / "stages" / "collect.json").read_text())["record"]
        assert collected["dropped_links"] == [f"notes.txt -> {secret_file}"]  # never followed on the host
        assert f"{secret_file}: No such file or directory" in (run_dir / "agent" / "output.log").read_text()  # hidden
    finally:
        for path in [victim, link, secret_file, *escapes]:
            if path.is_dir() and not path.is_symlink():
                path.rmdir() if path.is_relative_to("/sys") else shutil.rmtree(path)
            elif os.path.lexists(path):
                path.unlink()
        if setting.read_text() != before:
            setting.write_text(before)


def test_a_sandbox_that_cannot_start_the_agent_fails_the_trial_with_its_reason(
        tiny_model: Path, demo_gsm8k: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As when an interpreter under /tmp was hidden by the private /tmp: never a silent `no_submission`."""
    from posttrainbench.agents.copy_base import CopyBaseAgent

    monkeypatch.setattr(CopyBaseAgent, "command", lambda self, ctx: ["/nonexistent/venv/bin/python3", "-c", "pass"])
    result = api.run(config_for(tiny_model, demo_gsm8k, agent="copy-base"))
    assert result.status == "error" and result.error and result.error.stage == "solve"
    assert "sandbox could not start the agent (/nonexistent/venv/bin/python3): bwrap: execvp" in result.error.message
    assert json.loads((isolated_env / "results" / result.run_id / "result.json").read_text())["error"]["stage"] == "solve"
