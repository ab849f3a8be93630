"""Executors hand the trials of an experiment to an engine: ``local`` (this machine, one GPU per trial),
``slurm`` (one batch job per trial) or ``htcondor`` (one job per trial through the htcondor2 bindings).

Every job runs the same thing, ``python -m posttrainbench resume <run_dir>``, on a run directory whose
``config.json`` the submitter wrote. Resume skips the stages already done, so a preempted or killed job
that runs again loses at most the stage in progress, and a job for a finished trial does nothing. The run
directory is the truth about a trial; the engine only adds whether a job is queued or running.
``<run_dir>/job.json`` names the trial's latest job.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel

from posttrainbench.errors import PtbError
from posttrainbench.fileio import iso_now, read_model, write_json_atomic
from posttrainbench.trial.paths import RunPaths

if TYPE_CHECKING:
    from posttrainbench.executors.experiment import Experiment

EngineStatus = Literal["queued", "running", "ended", "unknown"]


class Job(BaseModel):
    """The latest job submitted for a trial (``<run_dir>/job.json``)."""

    executor: str
    job_id: str
    submitted_at: str
    host: str
    """Where it was submitted from (local jobs: where the process runs)."""
    script: str | None = None
    """The job's script or submit description, in the run directory."""
    gpus: str | None = None
    """local: the CUDA_VISIBLE_DEVICES the trial was given."""

    @classmethod
    def new(cls, executor: str, job_id: str, **fields: str | None) -> Job:
        return cls(executor=executor, job_id=job_id, submitted_at=iso_now(), host=socket.gethostname(), **fields)

    def save(self, run_dir: Path) -> None:
        write_json_atomic(RunPaths(run_dir).job, self.model_dump(mode="json"))


def read_job(run_dir: Path) -> Job | None:
    path = RunPaths(run_dir).job
    return read_model(path, Job) if path.is_file() else None


@dataclass(frozen=True)
class EngineState:
    """What the engine says about a job."""

    status: EngineStatus
    detail: str = ""
    """The engine's own word (PENDING, RUNNING, CANCELLED, ...) and its reason."""
    elapsed: str | None = None


class Executor(Protocol):
    name: str

    def submit(self, run_dirs: list[Path]) -> None:
        """Start or queue one job per run directory, and write its ``job.json``."""

    def states(self, jobs: list[Job]) -> dict[str, EngineState]:
        """The engine's state of each job, by job id (jobs it no longer knows: ``ended`` or ``unknown``)."""

    def cancel(self, jobs: list[Job]) -> None:
        """Stop these jobs."""


def make_executor(experiment: Experiment) -> Executor:
    kind = experiment.executor.kind
    if kind == "local":
        from posttrainbench.executors.local import LocalExecutor

        return LocalExecutor(experiment)
    if kind == "slurm":
        from posttrainbench.executors.slurm import SlurmExecutor

        return SlurmExecutor(experiment)
    if kind == "htcondor":
        from posttrainbench.executors.htcondor import HTCondorExecutor

        return HTCondorExecutor(experiment)
    raise PtbError(f"unknown executor {kind!r}")
