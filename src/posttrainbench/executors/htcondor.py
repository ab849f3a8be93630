"""The HTCondor executor: one job per trial through the maintained ``htcondor2`` bindings (``pip install
'posttrainbench[htcondor]'``), on the local schedd.

The submit description asks what the original's ``single_task.sub`` asked (GPUs, CPUs, memory, disk, a
requirement on the GPU's model, concurrency limits such as its Gemini throttle) and is saved in the run
directory as ``job.sub`` (``condor_submit job.sub`` from there submits it again by hand). An evicted job
goes back to idle and, when it runs again, resumes the trial from its last finished stage. States come from
the schedd's queue, then its history. No HTCondor pool could run where this was built: the descriptions and
the state mapping are tested through the bindings' own ``Submit`` and ``ClassAd`` objects (README, Running
at scale).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from posttrainbench.errors import PtbError
from posttrainbench.executors import EngineState, Job
from posttrainbench.config import TrialConfig
from posttrainbench.trial.paths import RunPaths
from posttrainbench.executors.experiment import Experiment, agent_entry

DESCRIPTION = "job.sub"
FORWARDED_ENV = "HOME, PATH, HF_*, PTB_*, *_API_KEY, *_BASE_URL"
"""The host variables a job gets (HTCondor's getenv patterns): the caches, ptb's settings and the agents' keys."""
STATUS = {1: ("queued", "IDLE"), 2: ("running", "RUNNING"), 3: ("ended", "REMOVED"), 4: ("ended", "COMPLETED"),
          5: ("queued", "HELD"), 6: ("running", "TRANSFERRING_OUTPUT"), 7: ("running", "SUSPENDED")}
"""JobStatus codes. A held job is still in the queue (it waits for condor_release or ptb cancel)."""


def _quote_argument(text: str) -> str:
    """One argument in HTCondor's new ``arguments`` syntax: single quotes, a quote doubled inside."""
    return "'" + text.replace("'", "''").replace('"', '""') + "'"


def submit_description(experiment: Experiment, run_dir: Path, python: str, agent_limits: list[str] | None = None) -> dict[str, str]:
    """The submit description's commands for one trial (``agent_limits``: its agent's own concurrency limits)."""
    options = experiment.executor
    gpus = experiment.gpus_per_trial
    description = {
        "executable": python,
        "arguments": '"' + " ".join(_quote_argument(a) for a in ("-m", "posttrainbench", "resume", str(run_dir))) + '"',
        "initialdir": str(run_dir),
        "output": "condor-$(ClusterId).out",
        "error": "condor-$(ClusterId).err",
        "log": "condor.log",
        "getenv": FORWARDED_ENV,
        "should_transfer_files": "NO",  # the run directory is on a shared filesystem, as with Slurm
        "request_cpus": str(options.cpus),
        "request_memory": options.memory,
        **({"request_disk": options.disk} if options.disk else {}),
        **({"request_gpus": str(gpus)} if gpus else {}),
        "+PtbRunId": f'"{run_dir.name}"',
        "+PtbExperiment": f'"{experiment.name}"',
        "batch_name": f"ptb-{experiment.name}",
    }
    if options.gpu_type:
        wanted = options.gpu_type.replace('"', "")
        description["requirements"] = f'regexp("{wanted}", GPUs_DeviceName ?: CUDADeviceName ?: "", "i")'
    limits = [*options.concurrency_limits, *(agent_limits or [])]
    if limits:
        description["concurrency_limits"] = ", ".join(limits)
    return description


def engine_state(ad: Any) -> EngineState:
    """A job ClassAd (queue or history) as an engine state."""
    status, word = STATUS.get(int(ad.get("JobStatus", 0)), ("unknown", f"JobStatus {ad.get('JobStatus')}"))
    reason = ad.get("HoldReason") if word == "HELD" else None
    wall = ad.get("RemoteWallClockTime")
    elapsed = f"{int(float(wall)) // 3600}:{int(float(wall)) % 3600 // 60:02d}:{int(float(wall)) % 60:02d}" if wall else None
    return EngineState(status, word + (f" ({reason})" if reason else ""), elapsed)  # type: ignore[arg-type]


def _bindings() -> Any:
    import htcondor2  # a missing module becomes "install posttrainbench[htcondor]" (errors.OPTIONAL_MODULES)

    return htcondor2


class HTCondorExecutor:
    name = "htcondor"

    def __init__(self, experiment: Experiment, schedd: Callable[[], Any] | None = None):
        self.experiment = experiment
        self.python = experiment.executor.python or sys.executable
        self._schedd_factory = schedd

    def schedd(self) -> Any:
        if self._schedd_factory is not None:
            return self._schedd_factory()
        htcondor2 = _bindings()
        try:
            return htcondor2.Schedd()
        except htcondor2.HTCondorException as error:
            raise PtbError(f"cannot reach the HTCondor schedd: {error}") from None

    def submit(self, run_dirs: list[Path]) -> None:
        htcondor2 = _bindings()
        schedd = self.schedd()
        for run_dir in run_dirs:
            entry = agent_entry(self.experiment, TrialConfig.load(run_dir / "config.json"))
            description = htcondor2.Submit(submit_description(self.experiment, run_dir, self.python, entry.concurrency_limits))
            RunPaths(run_dir).job_file(DESCRIPTION).write_text(str(description))
            result = schedd.submit(description)
            Job.new(self.name, f"{result.cluster()}.0", script=DESCRIPTION).save(run_dir)

    def states(self, jobs: list[Job]) -> dict[str, EngineState]:
        schedd = self.schedd()
        clusters = ", ".join(job.job_id.split(".")[0] for job in jobs)
        constraint = f"member(ClusterId, {{{clusters}}})"
        projection = ["ClusterId", "ProcId", "JobStatus", "HoldReason", "RemoteWallClockTime"]
        found = {f"{ad['ClusterId']}.{ad['ProcId']}": engine_state(ad) for ad in schedd.query(constraint=constraint, projection=projection)}
        missing = [job for job in jobs if job.job_id not in found]
        if missing:
            for ad in schedd.history(constraint=constraint, projection=projection, match=len(jobs)):
                found.setdefault(f"{ad['ClusterId']}.{ad['ProcId']}", engine_state(ad))
        return {job.job_id: found.get(job.job_id, EngineState("ended", "no longer known to the schedd")) for job in jobs}

    def cancel(self, jobs: list[Job]) -> None:
        htcondor2 = _bindings()
        self.schedd().act(htcondor2.JobAction.Remove, [job.job_id for job in jobs])
