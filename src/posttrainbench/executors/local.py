"""The local executor: trials run on this machine, as many at a time as there are GPUs (or
``max_parallel``), each handed its own GPUs through ``CUDA_VISIBLE_DEVICES``. ``ptb submit`` stays in
the foreground until every trial has ended; interrupting it stops the trials, which resume when submitted
again."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from posttrainbench.errors import PtbError
from posttrainbench.executors import EngineState, Job
from posttrainbench.executors.experiment import Experiment
from posttrainbench.trial.paths import RunPaths

POLL_SECONDS = 1.0


def visible_gpus() -> list[str]:
    """This machine's GPUs as CUDA_VISIBLE_DEVICES names them: the variable's own list where it is set,
    else nvidia-smi's indices, else none."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [gpu.strip() for gpu in listed.split(",") if gpu.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True)
    return out.stdout.split() if out.returncode == 0 else []


def gpu_slots(experiment: Experiment) -> list[str]:
    """One CUDA_VISIBLE_DEVICES value per trial that may run at once ("" hides every GPU from a CPU trial)."""
    options = experiment.executor
    per_trial = experiment.gpus_per_trial
    if per_trial == 0:
        return [""] * (options.max_parallel or 1)
    gpus = options.gpus if options.gpus is not None else visible_gpus()
    groups = [",".join(gpus[i:i + per_trial]) for i in range(0, len(gpus) - per_trial + 1, per_trial)]
    if not groups:
        raise PtbError(f"the experiment needs {per_trial} GPU(s) per trial and this machine shows {len(gpus)} "
                       "(set executor.gpus, or device = \"cpu\" with gpus_per_trial = 0)")
    return groups[:options.max_parallel] if options.max_parallel else groups


class LocalExecutor:
    name = "local"

    def __init__(self, experiment: Experiment, say: Callable[[str], None] | None = None):
        self.experiment = experiment
        self.python = experiment.executor.python or sys.executable
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))

    def submit(self, run_dirs: list[Path]) -> None:
        free = gpu_slots(self.experiment)
        waiting = list(run_dirs)
        running: list[tuple[subprocess.Popen[bytes], Path, str]] = []
        self.say(f"running {len(waiting)} trial(s), {len(free)} at a time" + (f" on GPUs {' | '.join(free)}" if free[0] else ""))
        try:
            while waiting or running:
                while waiting and free:
                    run_dir, gpus = waiting.pop(0), free.pop(0)
                    running.append((self._start(run_dir, gpus), run_dir, gpus))
                time.sleep(POLL_SECONDS)
                for entry in [e for e in running if e[0].poll() is not None]:
                    process, run_dir, gpus = entry
                    running.remove(entry)
                    free.append(gpus)
                    self.say(f"{run_dir.name}: ended with exit code {process.returncode}")
        except KeyboardInterrupt:
            for process, _, _ in running:
                _stop(process.pid)
            self.say(f"interrupted: stopped {len(running)} running trial(s); `ptb submit` again resumes them")
            raise

    def _start(self, run_dir: Path, gpus: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": gpus}
        with open(RunPaths(run_dir).job_file("job.log"), "ab") as log:
            process = subprocess.Popen([self.python, "-m", "posttrainbench", "resume", str(run_dir)], stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        Job.new(self.name, str(process.pid), gpus=gpus, script="job.log").save(run_dir)
        self.say(f"{run_dir.name}: started (pid {process.pid}" + (f", CUDA_VISIBLE_DEVICES={gpus})" if gpus else ", no GPU)"))
        return process

    def states(self, jobs: list[Job]) -> dict[str, EngineState]:
        here = socket.gethostname()
        return {job.job_id: (EngineState("running", f"pid {job.job_id}", _since(job.submitted_at)) if _alive(int(job.job_id))
                             else EngineState("ended", f"pid {job.job_id}"))
                if job.host == here else EngineState("unknown", f"pid {job.job_id} on {job.host}") for job in jobs}

    def cancel(self, jobs: list[Job]) -> None:
        here = socket.gethostname()
        for job in jobs:
            if job.host != here:
                raise PtbError(f"job {job.job_id} runs on {job.host}: cancel it there")
            _stop(int(job.job_id))


def _since(started_at: str) -> str:
    """H:MM:SS since an ISO time (a local job starts when it is submitted)."""
    seconds = max(0, int((datetime.now(UTC) - datetime.fromisoformat(started_at)).total_seconds()))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _stop(pid: int) -> None:
    """SIGTERM to the trial's whole process tree: ``ptb resume``'s group and every process below it, the agent
    among them (it runs in a session of its own)."""
    from posttrainbench.process import descendants

    below = descendants(pid)
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
    for child in below:
        try:
            os.kill(child, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
