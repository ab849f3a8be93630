"""The local executor with a fake GPU list: several trials at once, each handed its own GPU through
CUDA_VISIBLE_DEVICES, never two trials on one GPU at the same time; a second submit runs nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import ptb
from experiment_files import command_experiment, wait_for
from posttrainbench.errors import PtbError
from posttrainbench.executors.experiment import Experiment
from posttrainbench.executors.local import gpu_slots

pytestmark = pytest.mark.slow

# each trial writes when it held which GPU (outside its workspace: the sandbox is none)
AGENT = ('echo "$CUDA_VISIBLE_DEVICES $(date +%s.%N) start" >> {log}; sleep 3; '
         'echo "$CUDA_VISIBLE_DEVICES $(date +%s.%N) end" >> {log}; cp -r "$PTB_BASE_MODEL_PATH" final_model')


def test_trials_run_at_once_each_on_its_own_gpu(tiny_model: Path, demo_gsm8k: Path, tmp_path: Path) -> None:
    log = tmp_path / "gpus.log"
    experiment = command_experiment(tmp_path / "local.toml", "here", tiny_model, AGENT.format(log=log), seeds=(0, 1, 2, 3), gpus_per_trial=1,
                                    evaluation={"limit": 1, "max_tokens": [4], "data": str(demo_gsm8k)},
                                    executor={"kind": "local", "gpus": ["5", "7", "9"]})
    out = ptb("submit", str(experiment), timeout=600)
    assert out.returncode == 0, out.stderr
    assert "running 4 trial(s), 3 at a time on GPUs 5 | 7 | 9" in out.stderr
    spans: dict[str, list[tuple[float, float]]] = {}
    starts: dict[str, float] = {}
    for line in log.read_text().splitlines():
        gpu, at, what = line.split()
        if what == "start":
            assert gpu not in starts, f"GPU {gpu} handed to a second trial while the first held it"
            starts[gpu] = float(at)
        else:
            spans.setdefault(gpu, []).append((starts.pop(gpu), float(at)))
    assert set(spans) <= {"5", "7", "9"} and sum(len(s) for s in spans.values()) == 4
    intervals = sorted(span for gpu_spans in spans.values() for span in gpu_spans)
    assert any(later[0] < earlier[1] for earlier, later in zip(intervals, intervals[1:])), "no two trials overlapped"

    status = json.loads(ptb("status", str(experiment), "--json").stdout)
    assert [row["state"] for row in status] == ["finished"] * 4
    again = ptb("submit", str(experiment))
    assert again.returncode == 0 and "4 trials; 4 with a result or in flight; submitting 0 to local" in again.stderr


def test_gpu_slots_group_gpus_per_trial() -> None:
    def experiment(**executor: object) -> Experiment:
        return Experiment.model_validate({"name": "x", "agents": [{"agent": "copy-base"}], "models": ["m"], "benchmarks": ["gsm8k"],
                                          "hours": 1, "gpus_per_trial": executor.pop("per_trial", 1), "executor": executor})

    assert gpu_slots(experiment(gpus=["0", "1", "2", "3"], per_trial=2)) == ["0,1", "2,3"]
    assert gpu_slots(experiment(gpus=["0", "1", "2"], per_trial=2)) == ["0,1"]
    assert gpu_slots(experiment(gpus=["0", "1", "2", "3"], max_parallel=3)) == ["0", "1", "2"]
    assert gpu_slots(experiment(per_trial=0, max_parallel=2)) == ["", ""]
    with pytest.raises(PtbError, match="needs 2 GPU\\(s\\) per trial and this machine shows 1"):
        gpu_slots(experiment(gpus=["0"], per_trial=2))


def test_ctrl_c_stops_the_trials_and_submit_resumes_them(tiny_model: Path, demo_gsm8k: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    experiment = command_experiment(tmp_path / "stop.toml", "stop", tiny_model, "sleep 127", hours=0.1, evaluation={"data": str(demo_gsm8k)})
    submit = subprocess.Popen([sys.executable, "-m", "posttrainbench", "submit", str(experiment)], stderr=subprocess.PIPE, text=True)
    solve = Path(os.environ["PTB_RESULTS"]) / "stop_gsm8k_tiny-qwen3_command_s0" / "stages" / "solve.started.json"
    wait_for(lambda: solve.is_file() or submit.poll() is not None, "the trial's solve to start", timeout=120, every=0.5)
    assert submit.poll() is None, "ptb submit ended before the trial's solve started"
    [running] = json.loads(ptb("status", str(experiment), "--json").stdout)
    assert running["state"] == "running" and re.fullmatch(r"at solve, \d+:\d\d:\d\d used", running["detail"]), running
    submit.send_signal(signal.SIGINT)
    _, stderr = submit.communicate(timeout=60)
    assert submit.returncode == 130 and "stopped 1 running trial(s)" in stderr, stderr
    row = wait_for(lambda: next((r for r in json.loads(ptb("status", str(experiment), "--json").stdout) if r["state"] != "running"), None),
                   "the trial's processes to end after Ctrl-C", timeout=60, every=0.5)
    assert row["state"] == "stopped" and "submit again to resume" in row["detail"], row
    # the agent itself (in a session of its own, with no sandbox around it) was stopped too
    wait_for(lambda: subprocess.run(["pgrep", "-f", "sleep 127"], capture_output=True).returncode != 0, "the agent to end with its trial",
             timeout=30, every=0.5)
    assert "would submit 1 to local" in ptb("submit", str(experiment), "--dry-run").stderr


def test_a_trial_that_fails_shows_why_and_fails_the_submit(tiny_model: Path, tmp_path: Path) -> None:
    experiment = command_experiment(tmp_path / "fails.toml", "fails", tiny_model, "echo no model today")
    out = ptb("submit", str(experiment), timeout=300)
    assert out.returncode == 1 and "1 of 1 trial(s) did not succeed" in out.stderr.strip().splitlines()[-1], out.stderr
    [row] = json.loads(ptb("status", str(experiment), "--json").stdout)
    assert row["state"] == "failed" and row["detail"] == "no_submission: the agent left no final_model", row
    again = ptb("submit", str(experiment))  # a recorded result is final: nothing to submit, nothing failed now
    assert again.returncode == 0 and "1 with a result or in flight; submitting 0" in again.stderr
