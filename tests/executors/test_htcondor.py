"""The HTCondor executor through the htcondor2 bindings' own objects. No HTCondor daemons can run here, so a
schedd stands in that keeps the bindings' ``Submit`` objects it was given and answers queries with the
bindings' ``ClassAd``s, the way a schedd's queue and history do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

htcondor2 = pytest.importorskip("htcondor2")  # in the dev extra: runs in CI
import classad2  # noqa: E402

from posttrainbench.config import ModelSpec, TrialConfig  # noqa: E402
from posttrainbench.executors import read_job  # noqa: E402
from posttrainbench.executors.experiment import Experiment  # noqa: E402
from posttrainbench.executors.htcondor import HTCondorExecutor, submit_description  # noqa: E402


def experiment(**executor: Any) -> Experiment:
    return Experiment.model_validate({"name": "row", "agents": [{"agent": "copy-base", "concurrency_limits": ["user.gemini:1250"]}],
                                      "models": ["m"], "benchmarks": ["gsm8k"], "hours": 10, "executor": {"kind": "htcondor", **executor}})


def trial_dir(path: Path) -> Path:
    path.mkdir()
    TrialConfig(run_id=path.name, agent="copy-base", model=ModelSpec(id="m", path="/models/m", family="qwen3"), benchmark="gsm8k",
                hours=10).save(path / "config.json")
    return path


class Schedd:
    """What the executor asks of ``htcondor2.Schedd``: submit, query, history, act."""

    def __init__(self) -> None:
        self.submitted: list[htcondor2.Submit] = []
        self.queue: list[classad2.ClassAd] = []
        self.old: list[classad2.ClassAd] = []
        self.actions: list[tuple[Any, list[str]]] = []

    def submit(self, description: htcondor2.Submit) -> Any:
        assert isinstance(description, htcondor2.Submit)
        self.submitted.append(description)
        cluster = 100 + len(self.submitted)
        self.queue.append(classad2.ClassAd({"ClusterId": cluster, "ProcId": 0, "JobStatus": 1}))
        return type("Result", (), {"cluster": lambda self: cluster})()

    def query(self, constraint: str, projection: list[str]) -> list[classad2.ClassAd]:
        return [ad for ad in self.queue if f"{ad['ClusterId']}" in constraint]

    def history(self, constraint: str, projection: list[str], match: int) -> list[classad2.ClassAd]:
        return [ad for ad in self.old if f"{ad['ClusterId']}" in constraint][:match]

    def act(self, action: Any, job_ids: list[str]) -> None:
        self.actions.append((action, job_ids))


def test_the_submit_description_asks_what_the_original_asked(tmp_path: Path) -> None:
    run_dir = tmp_path / "run dir's"
    options = experiment(cpus=16, memory="128G", disk="400G", gpu_type="H100", concurrency_limits=["pool.h100:8"])
    description = htcondor2.Submit(submit_description(options, run_dir, "/opt/venv/bin/python", ["user.gemini:1250"]))
    assert description["request_gpus"] == "1" and description["request_cpus"] == "16"
    assert description["request_memory"] == "128G" and description["request_disk"] == "400G"
    assert description["requirements"] == 'regexp("H100", GPUs_DeviceName ?: CUDADeviceName ?: "", "i")'
    assert description["concurrency_limits"] == "pool.h100:8, user.gemini:1250"  # the experiment's, then the agent's own
    assert description["initialdir"] == str(run_dir) and description["executable"] == "/opt/venv/bin/python"
    # the run directory's space and quote survive HTCondor's argument quoting
    assert description["arguments"] == f'''"'-m' 'posttrainbench' 'resume' '{tmp_path}/run dir''s'"'''
    assert "getenv = HOME, PATH, HF_*, PTB_*, *_API_KEY, *_BASE_URL" in str(description)
    # the text saved as job.sub reads back as the same description
    again = htcondor2.Submit(str(description))
    assert dict(again.items()) == dict(description.items())
    cpu_only = submit_description(experiment().model_copy(update={"gpus_per_trial": 0}), run_dir, "python")
    assert "request_gpus" not in cpu_only and "requirements" not in cpu_only and "concurrency_limits" not in cpu_only


def test_submit_states_and_cancel_through_the_bindings(tmp_path: Path) -> None:
    schedd = Schedd()
    executor = HTCondorExecutor(experiment(), schedd=lambda: schedd)
    run_dirs = [trial_dir(tmp_path / f"trial{n}") for n in range(5)]
    executor.submit(run_dirs)
    jobs = [read_job(run_dir) for run_dir in run_dirs]
    assert [job.job_id for job in jobs if job] == ["101.0", "102.0", "103.0", "104.0", "105.0"]
    assert (run_dirs[0] / "job.sub").read_text() == str(schedd.submitted[0])
    assert schedd.submitted[0]["concurrency_limits"] == "user.gemini:1250"  # the agent's throttle
    # the queue: idle, running (with wall time), held (with its reason); the history: completed, removed
    schedd.queue = [classad2.ClassAd({"ClusterId": 101, "ProcId": 0, "JobStatus": 1}),
                    classad2.ClassAd({"ClusterId": 102, "ProcId": 0, "JobStatus": 2, "RemoteWallClockTime": 3725.0}),
                    classad2.ClassAd({"ClusterId": 103, "ProcId": 0, "JobStatus": 5, "HoldReason": "disk quota exceeded"})]
    schedd.old = [classad2.ClassAd({"ClusterId": 104, "ProcId": 0, "JobStatus": 4}),
                  classad2.ClassAd({"ClusterId": 105, "ProcId": 0, "JobStatus": 3})]
    states = executor.states([job for job in jobs if job])
    assert {job_id: (s.status, s.detail, s.elapsed) for job_id, s in states.items()} == {
        "101.0": ("queued", "IDLE", None), "102.0": ("running", "RUNNING", "1:02:05"),
        "103.0": ("queued", "HELD (disk quota exceeded)", None), "104.0": ("ended", "COMPLETED", None),
        "105.0": ("ended", "REMOVED", None)}
    schedd.old = []
    assert executor.states([jobs[4]])["105.0"].detail == "no longer known to the schedd"  # type: ignore[index]
    executor.cancel([job for job in jobs[:2] if job])
    assert schedd.actions == [(htcondor2.JobAction.Remove, ["101.0", "102.0"])]
