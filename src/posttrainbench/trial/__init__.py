"""The trial: prepare, preflight, solve, collect, audit, evaluate, record, in that order (``STAGE_RUNS``).

Each stage is one module of ``trial/stages`` with one entry point, ``run(context)``, that returns what it
found. The machine writes that, with the stage's timing, as the stage's done-marker
(``stages/<stage>.json``), last and atomically. A stage that fails raises ``StageError``; the machine
writes ``stages/failure.json`` and skips to ``record``. Running a trial again (``ptb resume``) skips every
stage that has a marker, so a crash or preemption at any point loses at most the stage in progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from posttrainbench.config import TrialConfig
from posttrainbench.errors import CorruptFileError, PtbError, StageError
from posttrainbench.fileio import iso_now, read_model, write_json_atomic
from posttrainbench.results.schema import Result
from posttrainbench.trial.context import Context
from posttrainbench.trial.paths import STAGES, RunPaths
from posttrainbench.trial.stages import audit, collect, evaluate, preflight, prepare, record, solve

STAGE_RUNS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "prepare": prepare.run,
    "preflight": preflight.run,
    "solve": solve.run,
    "collect": collect.run,
    "audit": audit.run,
    "evaluate": evaluate.run,
    "record": record.run,
}
assert tuple(STAGE_RUNS) == STAGES

ProgressFn = Callable[[str, str], None]


def quiet(stage: str, event: str) -> None:
    """The default progress callback: report nothing."""
    return None


class Trial:
    """One trial bound to its run directory."""

    def __init__(self, config: TrialConfig, run_dir: Path, progress: ProgressFn = quiet):
        self.config = config
        self.paths = RunPaths(run_dir)
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

    # -- machinery ----------------------------------------------------------------------------------

    @property
    def context(self) -> Context:
        return Context(self.config, self.paths)

    def done(self, stage: str) -> bool:
        return self.context.done(stage)

    def failure(self) -> dict[str, Any] | None:
        return self.context.failure()

    def run(self) -> Result:
        """Run every stage that has no done-marker, then return the recorded result."""
        if all(self.done(stage) for stage in STAGES):
            self._read_result()  # a finished trial whose result is unreadable fails now, before any progress
        self.paths.failure.unlink(missing_ok=True)
        if not all(self.done(stage) for stage in STAGES[:-1]):
            self.paths.stage_marker("record").unlink(missing_ok=True)
        for stage in STAGES:
            if self.done(stage):
                self.progress(stage, "skipped (done)")
                continue
            if self.failure() is not None and stage != "record":
                continue
            self._run_stage(stage)
        return self._read_result()

    def _read_result(self) -> Result:
        try:
            return read_model(self.paths.result, Result)
        except CorruptFileError as error:
            marker = self.paths.stage_marker("record").relative_to(self.paths.root)
            raise PtbError(f"{error} (delete it and {marker}, then resume to write it again)") from None

    def _run_stage(self, stage: str) -> None:
        self.progress(stage, "started")
        started_at, started = iso_now(), time.monotonic()
        try:
            data = STAGE_RUNS[stage](self.context)
        except StageError as error:
            write_json_atomic(
                self.paths.failure,
                {"stage": stage, "message": str(error).removeprefix(f"stage {stage} failed: ")},
            )
            self.progress(stage, f"failed: {error}")
            return
        seconds = round(time.monotonic() - started, 3)
        write_json_atomic(
            self.paths.stage_marker(stage),
            {"stage": stage, "started_at": started_at, "finished_at": iso_now(), "seconds": seconds, "data": data},
        )
        self.progress(stage, f"done in {seconds:.1f}s")
