"""The trial: prepare, preflight, solve, collect, audit, evaluate, record, in that order (``PIPELINE``).

Each stage is one module of ``trial/stages`` with one entry point, ``run(context)``, that returns a typed
record (``results/schema.py``). The machine writes that record, with the stage's timing, as the stage's
done-marker (``stages/<stage>.json``), last and atomically. A stage that fails raises ``StageError``; the
machine writes a ``StageFailure`` to ``stages/failure.json`` and skips to ``record``. Running a trial again
(``ptb resume``) skips every stage that has a marker, so a crash or preemption at any point loses at most
the stage in progress.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from posttrainbench.config import TrialConfig
from posttrainbench.errors import CorruptFileError, PtbError, StageError
from posttrainbench.fileio import iso_now, read_model, tail_lines, write_json_atomic
from posttrainbench.results import schema
from posttrainbench.results.schema import Result, StageFailure, StageMarker
from posttrainbench.trial.context import Context
from posttrainbench.trial.paths import STAGES, RunPaths
from posttrainbench.trial.stages import audit, collect, evaluate, preflight, prepare, record, solve


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Context], Any]
    record: type[BaseModel]
    """What ``run`` returns, and its done-marker holds."""


PIPELINE = (
    Stage("prepare", prepare.run, schema.PrepareRecord),
    Stage("preflight", preflight.run, schema.PreflightRecord),
    Stage("solve", solve.run, schema.SolveRecord),
    Stage("collect", collect.run, schema.CollectRecord),
    Stage("audit", audit.run, schema.AuditRecord),
    Stage("evaluate", evaluate.run, schema.EvaluateRecord),
    Stage("record", record.run, schema.RecordRecord),
)
assert tuple(stage.name for stage in PIPELINE) == STAGES

ProgressFn = Callable[[str, str], None]


def quiet(stage: str, event: str) -> None:
    """The default progress callback: report nothing."""
    return None


class Trial:
    """One trial bound to its run directory."""

    def __init__(self, config: TrialConfig, run_dir: Path, progress: ProgressFn = quiet):
        self.config = config
        self.paths = RunPaths(run_dir)
        self.context = Context(config, self.paths, progress=progress)
        self.progress = progress

    @classmethod
    def create(cls, config: TrialConfig, run_dir: Path, progress: ProgressFn = quiet) -> Trial:
        paths = RunPaths(run_dir)
        if paths.config.exists():
            saved = TrialConfig.load(paths.config)
            if saved.identity() != config.identity():
                raise PtbError(f"{run_dir} holds a different trial (config differs); use a new run id")
        else:
            run_dir.mkdir(parents=True, exist_ok=True)
            config.save(paths.config)
        return cls(config, run_dir, progress)

    @classmethod
    def open(cls, run_dir: Path, progress: ProgressFn = quiet) -> Trial:
        paths = RunPaths(run_dir)
        if not paths.config.is_file():
            raise PtbError(f"{run_dir} is not a run directory (no config.json)")
        return cls(TrialConfig.load(paths.config), run_dir, progress)

    def done(self, stage: str) -> bool:
        return self.context.done(stage)

    def failure(self) -> StageFailure | None:
        return self.context.failure()

    def run(self) -> Result:
        """Run every stage that has no done-marker, then return the recorded result."""
        with self._exclusive():
            return self._run()

    def _run(self) -> Result:
        if all(self.done(stage) for stage in STAGES):
            self._read_result()  # a finished trial whose result is unreadable fails now, before any progress
        self.paths.failure.unlink(missing_ok=True)
        if not all(self.done(stage) for stage in STAGES[:-1]):
            self.paths.stage_marker("record").unlink(missing_ok=True)
        for stage in PIPELINE:
            if self.done(stage.name):
                self.progress(stage.name, "skipped (done)")
                continue
            if self.paths.failure.is_file() and stage.name != "record":
                continue
            self._run_stage(stage)
        return self._read_result()

    def rerun(self, stages: tuple[str, ...]) -> Result:
        """Run ``stages`` of a finished trial again, in pipeline order (``ptb audit``: audit then record)."""
        if not self.done("record"):
            raise PtbError(f"{self.paths.root} is not finished (resume it first: ptb resume {self.paths.root})")
        with self._exclusive():
            return self._rerun(stages)

    def _rerun(self, stages: tuple[str, ...]) -> Result:
        for stage in PIPELINE:
            if stage.name in stages:
                self.paths.stage_marker(stage.name).unlink(missing_ok=True)
                self._run_stage(stage)
        if not self.done("record"):
            failure = self.failure()
            raise PtbError(f"re-running {', '.join(stages)} failed: {failure.message if failure else 'no record'}")
        return self._read_result()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the run directory's lock: two processes never run one trial at once (a job requeued while
        its first run still ends, a trial submitted twice). The kernel drops the lock when the process dies."""
        with open(self.paths.lock, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PtbError(f"{self.paths.root} is being run by another process right now") from None
            yield

    def _read_result(self) -> Result:
        try:
            return read_model(self.paths.result, Result)
        except CorruptFileError as error:
            marker = self.paths.stage_marker("record").relative_to(self.paths.root)
            raise PtbError(f"{error} (delete it and {marker}, then resume to write it again)") from None

    def _run_stage(self, stage: Stage) -> None:
        self.progress(stage.name, "started")
        started_at, started = iso_now(), time.monotonic()
        try:
            record = stage.run(self.context)
        except StageError as error:
            self._write_failure(stage.name, error)
            self.progress(stage.name, f"failed: {error}")
            return
        assert isinstance(record, stage.record), f"stage {stage.name} returned {type(record).__name__}"
        seconds = round(time.monotonic() - started, 3)
        marker = StageMarker[stage.record](stage=stage.name, started_at=started_at, finished_at=iso_now(),  # type: ignore[name-defined]
                                           seconds=seconds, record=record)
        write_json_atomic(self.paths.stage_marker(stage.name), marker.model_dump(mode="json"))
        self.progress(stage.name, f"done in {seconds:.1f}s")

    def _write_failure(self, stage: str, error: StageError) -> None:
        log = error.log.relative_to(self.paths.root).as_posix() if error.log else None
        failure = StageFailure(stage=stage, message=error.reason, log=log, log_tail=tail_lines(error.log) if error.log else [])
        write_json_atomic(self.paths.failure, failure.model_dump(mode="json"))


def is_running(run_dir: Path) -> bool:
    """Whether a process holds the trial's lock, here or on another machine of the same shared filesystem."""
    lock = RunPaths(run_dir).lock
    if not lock.is_file():
        return False
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
