"""The Slurm executor: one batch job per trial, written as a plain ``sbatch`` script into the run directory
(``job.sbatch``; ``cd RUN_DIR && sbatch job.sbatch`` submits it again by hand).

The job asks for the trial's GPUs through GRES, a time limit of the agent's budget plus the grace and the
evaluation allowance, the experiment's CPUs, memory and scratch disk, and ``--requeue``: a preempted job
goes back to the queue and, when it runs again, resumes the trial from its last finished stage. States come
from ``squeue``; a job that left the queue is looked up in ``sacct``, or with ``scontrol`` where accounting
is off, and is otherwise reported as gone (the run directory still tells whether the trial finished).
"""

from __future__ import annotations

import math
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from posttrainbench.errors import PtbError
from posttrainbench.executors import EngineState, Job
from posttrainbench.trial.paths import RunPaths
from posttrainbench.executors.experiment import Experiment

SCRIPT = "job.sbatch"
QUEUED = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "RESIZING"}
RUNNING = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING", "SUSPENDED", "STOPPED"}


def time_limit(experiment: Experiment) -> str:
    """The agent's hours, its grace, the evaluation allowance and 10 minutes for prepare, as D-HH:MM:00."""
    minutes = math.ceil(experiment.hours * 60 + experiment.grace_minutes + experiment.executor.evaluation_hours * 60 + 10)
    days, rest = divmod(minutes, 24 * 60)
    return f"{days}-{rest // 60:02d}:{rest % 60:02d}:00"


def job_script(experiment: Experiment, run_dir: Path, python: str) -> str:
    options = experiment.executor
    gpus = experiment.gpus_per_trial
    directives = [
        f"--job-name=ptb-{run_dir.name}",
        "--output=slurm-%j.log",  # relative to the run directory, where the job is submitted from
        "--open-mode=append",
        f"--time={time_limit(experiment)}",
        "--nodes=1",
        "--ntasks=1",
        f"--cpus-per-task={options.cpus}",
        f"--mem={options.memory}",
        *([f"--tmp={options.disk}"] if options.disk else []),
        *([f"--gres=gpu:{options.gpu_type + ':' if options.gpu_type else ''}{gpus}"] if gpus else []),
        "--requeue",
        *([f"--partition={options.partition}"] if options.partition else []),
        *([f"--account={options.account}"] if options.account else []),
        *([f"--qos={options.qos}"] if options.qos else []),
        *options.extra,
    ]
    return "\n".join([
        "#!/bin/bash",
        f"# Trial {run_dir.name} of experiment {experiment.name}, written by ptb submit.",
        "# Resume skips the stages already done: a requeued or resubmitted job goes on where the last one stopped.",
        *(f"#SBATCH {directive}" for directive in directives),
        "",
        f"exec {shlex.quote(python)} -m posttrainbench resume {shlex.quote(str(run_dir))}",
        "",
    ])


class SlurmExecutor:
    name = "slurm"

    def __init__(self, experiment: Experiment):
        self.experiment = experiment
        self.python = experiment.executor.python or sys.executable

    def submit(self, run_dirs: list[Path]) -> None:
        _need("sbatch")
        for run_dir in run_dirs:
            RunPaths(run_dir).job_file(SCRIPT).write_text(job_script(self.experiment, run_dir, self.python))
            out = _slurm(["sbatch", "--parsable", SCRIPT], cwd=run_dir)
            Job.new(self.name, out.split(";")[0].strip(), script=SCRIPT).save(run_dir)

    def states(self, jobs: list[Job]) -> dict[str, EngineState]:
        _need("squeue")
        wanted = {job.job_id for job in jobs}
        found: dict[str, EngineState] = {}
        for line in _slurm(["squeue", "--me", "--noheader", "--format=%i|%T|%M|%r"]).splitlines():
            job_id, state, elapsed, reason = line.strip().split("|", 3)
            if job_id in wanted:
                found[job_id] = _engine_state(state, elapsed, reason)
        missing = sorted(wanted - found.keys())
        if missing:
            found.update(_ended_states(missing))
        return found

    def cancel(self, jobs: list[Job]) -> None:
        _need("scancel")
        _slurm(["scancel", *(job.job_id for job in jobs)])


def _engine_state(state: str, elapsed: str = "", reason: str = "") -> EngineState:
    state = state.split()[0].rstrip("+") if state else "UNKNOWN"  # sacct writes "CANCELLED by 0"
    status = "queued" if state in QUEUED else "running" if state in RUNNING else "ended"
    detail = state + (f" ({reason})" if reason and reason != "None" else "")
    return EngineState(status, detail, elapsed or None)  # type: ignore[arg-type]


def _ended_states(job_ids: list[str]) -> dict[str, EngineState]:
    """Jobs that left the queue: from accounting, else from the controller's memory of recent jobs."""
    accounting = subprocess.run(["sacct", "--noheader", "--parsable2", "--allocations", "--format=JobID,State,Elapsed",
                                 f"--jobs={','.join(job_ids)}"], capture_output=True, text=True) if shutil.which("sacct") else None
    found: dict[str, EngineState] = {}
    if accounting is not None and accounting.returncode == 0:
        for line in accounting.stdout.splitlines():
            job_id, state, elapsed = line.split("|", 2)
            found[job_id] = _engine_state(state, elapsed)
    for job_id in job_ids:
        if job_id in found:
            continue
        shown = subprocess.run(["scontrol", "--oneliner", "show", "job", job_id], capture_output=True, text=True)
        fields = dict(item.split("=", 1) for item in shown.stdout.split() if "=" in item) if shown.returncode == 0 else {}
        found[job_id] = (_engine_state(fields.get("JobState", ""), fields.get("RunTime", ""), fields.get("Reason", ""))
                         if fields else EngineState("ended", "no longer known to Slurm"))
    return found


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        raise PtbError(f"{tool} not found: the slurm executor runs on a machine with Slurm's commands")


def _slurm(command: list[str], cwd: Path | None = None) -> str:
    out = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if out.returncode != 0:
        raise PtbError(f"{command[0]} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f'exit {out.returncode}'}")
    return out.stdout
