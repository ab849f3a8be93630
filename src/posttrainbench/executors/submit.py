"""``ptb submit``, ``ptb status EXPERIMENT`` and ``ptb cancel``: an experiment's trials against their run
directories and their executor's engine.

A trial's state comes from its run directory first (finished, failed, the stage it reached, whether a
process holds its lock), then from the engine (queued, running, or its job ended without finishing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posttrainbench import settings
from posttrainbench.config import TrialConfig
from posttrainbench.errors import CorruptFileError, PtbError
from posttrainbench.executors import EngineState, Executor, Job, make_executor, read_job
from posttrainbench.executors.experiment import Experiment, expand, load_experiment, results_folder
from posttrainbench.fileio import read_model
from posttrainbench.results.schema import Result
from posttrainbench.status import run_state
from posttrainbench.trial import Trial, is_running

Say = Callable[[str], None]


@dataclass
class TrialState:
    config: TrialConfig
    run_dir: Path
    state: str
    """not submitted, queued, running, finished, failed, stopped"""
    detail: str = ""
    job: Job | None = None
    accuracy: float | None = None

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    def row(self) -> dict[str, Any]:
        return {"run_id": self.config.run_id, "agent": self.config.label or self.config.agent, "model": self.config.model.id,
                "benchmark": self.config.benchmark, "seed": self.config.seed, "state": self.state, "detail": self.detail,
                "job": self.job.job_id if self.job else None, "accuracy": self.accuracy, "run_dir": str(self.run_dir)}


@dataclass
class Plan:
    experiment: Experiment
    executor: Executor
    root: Path
    trials: list[TrialState]


def plan(path: Path, results: Path | None = None, create: bool = False) -> Plan:
    """The experiment's trials and each one's state (``results`` overrides the file's results folder, which
    only ``create`` makes: looking never creates a folder)."""
    from posttrainbench.api import results_root, results_to_read

    experiment, base = load_experiment(path)
    configs = expand(experiment, base)
    folder = results or results_folder(experiment, base)
    if create:
        root = results_root(folder)
    elif results is not None:  # a mistyped --results must not look like an experiment nobody submitted
        root = results_to_read(results).resolve()
    else:
        root = (folder or settings.results_dir()).expanduser().resolve()
    executor = make_executor(experiment)
    run_dirs = [root / config.run_id for config in configs]
    jobs = {run_dir: _job(run_dir) for run_dir in run_dirs}
    known = [job for job in jobs.values() if job is not None and job.executor == executor.name]
    engine = executor.states(known) if known else {}
    trials = [trial_state(config, run_dir, jobs[run_dir], engine) for config, run_dir in zip(configs, run_dirs, strict=True)]
    return Plan(experiment, executor, root, trials)


def _job(run_dir: Path) -> Job | None:
    try:
        return read_job(run_dir)
    except CorruptFileError:
        return None  # an unreadable job record: the trial's own files still say where it stands


def trial_state(config: TrialConfig, run_dir: Path, job: Job | None, engine: dict[str, EngineState]) -> TrialState:
    state = TrialState(config, run_dir, "not submitted", job=job)
    if not (run_dir / "config.json").is_file():
        return state
    saved = TrialConfig.load(run_dir / "config.json")
    if saved.identity() != config.identity():
        raise PtbError(f"{run_dir} holds a different trial than the experiment declares (its config differs); "
                       "rename the experiment or move that run directory away")
    disk = run_state(run_dir)
    on_engine = engine.get(job.job_id) if job else None
    if disk["stages_done"] and disk["stages_done"][-1] == "record":
        result = read_model(run_dir / "result.json", Result)
        state.accuracy = result.accuracy
        if result.status == "success":
            state.state, state.detail = "finished", "success"
        else:  # recorded, so final: a resume would not change it
            why = f"{result.error.stage}: {result.error.message}" if result.error else "the agent left no final_model"
            state.state, state.detail = "failed", f"{result.status}: {why}"
    elif is_running(run_dir) or (on_engine and on_engine.status == "running"):
        state.state = "running"
        state.detail = disk["state"] + (f", {on_engine.elapsed} used" if on_engine and on_engine.elapsed else "")
    elif on_engine and on_engine.status == "queued":
        state.state, state.detail = "queued", on_engine.detail
    elif job is not None:
        ended = f"job {job.job_id} {on_engine.detail}" if on_engine and on_engine.detail else f"job {job.job_id} is gone"
        state.state, state.detail = "stopped", f"{disk['state']}; {ended}; submit again to resume"
    return state


def submit(path: Path, results: Path | None = None, say: Say = print, dry_run: bool = False) -> tuple[Plan, list[TrialState]]:
    """Submit every trial that has no result yet and no queued or running job; returns the plan and the trials
    submitted. A trial that already started resumes from its last finished stage."""
    current = plan(path, results, create=not dry_run)
    todo = [t for t in current.trials if t.state not in ("finished", "failed", "queued", "running")]
    skipped = len(current.trials) - len(todo)
    say(f"{current.experiment.name}: {len(current.trials)} trials; {skipped} with a result or in flight; "
        f"{'would submit' if dry_run else 'submitting'} {len(todo)} to {current.executor.name}")
    if dry_run or not todo:
        return current, todo
    for trial in todo:
        Trial.create(trial.config, trial.run_dir)  # writes config.json (or checks it is the same trial)
    current.executor.submit([t.run_dir for t in todo])
    return current, todo


def cancel(path: Path, results: Path | None = None, say: Say = print) -> list[TrialState]:
    """Cancel the queued and running jobs of the experiment's trials; they resume when submitted again."""
    current = plan(path, results)
    active = [t for t in current.trials if t.active and t.job is not None and t.job.executor == current.executor.name]
    if active:
        current.executor.cancel([t.job for t in active if t.job])
    say(f"{current.experiment.name}: cancelled {len(active)} job(s)")
    return active
