"""The trial stage machine: prepare, preflight, solve, collect, audit, evaluate, record.

Each stage reads the run directory and leaves a done-marker (``stages/<stage>.json``) with its outputs,
written last and atomically. Running a trial again (``ptb resume``) skips every stage that has a marker,
so a crash or preemption at any point loses at most the stage in progress.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from posttrainbench import __version__, integrity, preflight, settings
from posttrainbench.collect import collect
from posttrainbench.config import TrialConfig
from posttrainbench.errors import CorruptFileError, PtbError, StageError
from posttrainbench.evaluation.ladder import run_ladder
from posttrainbench.fileio import iso_now, read_json, read_model, tail_lines, write_json_atomic
from posttrainbench.paths import STAGES, RunPaths
from posttrainbench.results import index
from posttrainbench.results.schema import Result, StageFailure
from posttrainbench.sandbox import get_sandbox
from posttrainbench.agents import create_agent
from posttrainbench.solve import solve
from posttrainbench.workspace import build_workspace

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

    # -- stages -------------------------------------------------------------------------------------

    def _prepare(self) -> dict[str, Any]:
        return {"manifest_files": len(build_workspace(self.config, self.paths))}

    def _preflight(self) -> dict[str, Any]:
        problem = get_sandbox(self.config.sandbox).problem()
        if problem:
            raise StageError("preflight", f"sandbox {self.config.sandbox}: {problem}")
        agent = create_agent(self.config.agent, **self.config.agent_args)
        problem = agent.problem()
        if problem:
            raise StageError("preflight", f"agent {self.config.agent}: {problem}")
        return {**preflight.check(self.config), "agent_cli_version": agent.version(), "agent_version_note": agent.version_note()}

    def _solve(self) -> dict[str, Any]:
        return solve(self.config, self.paths)

    def _collect(self) -> dict[str, Any]:
        return collect(self.paths, trusted=[Path(self.config.model.path), settings.hf_home()])

    def _audit(self) -> dict[str, Any]:
        verdicts = integrity.audit()
        write_json_atomic(self.paths.audit, {"verdicts": verdicts})
        return {"verdicts": verdicts}

    def _evaluate(self) -> dict[str, Any]:
        if not self.marker("collect")["data"]["submitted"]:
            return {"skipped": "the agent left no final_model"}
        return {"metrics": run_ladder(self.config, self.paths)}

    def _record(self) -> dict[str, Any]:
        result = self.build_result()
        write_json_atomic(self.paths.result, result.model_dump(mode="json"))
        index.upsert(self.paths.root.parent, result, self.paths.root)
        return {"status": result.status}

    # -- machinery ----------------------------------------------------------------------------------

    def marker(self, stage: str) -> dict[str, Any]:
        return read_json(self.paths.stage_marker(stage))  # type: ignore[no-any-return]

    def done(self, stage: str) -> bool:
        return self.paths.stage_marker(stage).is_file()

    def failure(self) -> dict[str, Any] | None:
        path = self.paths.stages_dir / "failure.json"
        return read_json(path) if path.is_file() else None

    def run(self) -> Result:
        """Run every stage that has no done-marker, then return the recorded result."""
        if all(self.done(stage) for stage in STAGES):
            self._read_result()  # a finished trial whose result is unreadable fails now, before any progress
        failure_path = self.paths.stages_dir / "failure.json"
        failure_path.unlink(missing_ok=True)
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
            data = getattr(self, f"_{stage}")()
        except StageError as error:
            write_json_atomic(
                self.paths.stages_dir / "failure.json",
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

    def build_result(self) -> Result:
        config = self.config
        markers = {stage: self.marker(stage) for stage in STAGES[:-1] if self.done(stage)}
        failure = self.failure()
        collected = markers.get("collect", {}).get("data", {})
        evaluated = markers.get("evaluate", {}).get("data", {})
        if failure:
            status = "error"
        elif not collected.get("submitted"):
            status = "no_submission"
        else:
            status = "success"
        error = None
        if failure:
            log = self._failure_log(failure["stage"])
            error = StageFailure(stage=failure["stage"], message=failure["message"], log=log,
                                 log_tail=tail_lines(self.paths.root / log) if log else [])
        return Result(
            run_id=config.run_id,
            status=status,
            label=config.label or config.agent,
            agent=config.agent,
            model=config.model.id,
            benchmark=config.benchmark,
            seed=config.seed,
            hours=config.hours,
            sandbox=config.sandbox,
            device=config.device,
            solve=markers.get("solve", {}).get("data"),
            submitted=bool(collected.get("submitted")),
            final_model_bytes=collected.get("final_model_bytes"),
            metrics=evaluated.get("metrics"),
            verdicts=markers.get("audit", {}).get("data", {}).get("verdicts", []),
            error=error,
            stage_seconds={stage: marker["seconds"] for stage, marker in markers.items()},
            # only what changes scores: backend, profile and the judge's endpoint do not
            protocol_overrides=config.evaluation.model_dump(include={"limit", "max_tokens", "data", "judge_model"}, exclude_none=True),
            ptb_version=__version__,
            finished_at=iso_now(),
        )

    def _failure_log(self, stage: str) -> str | None:
        if stage == "evaluate" and self.paths.attempts.exists():
            last = self.paths.attempts.read_text().strip().splitlines()[-1]
            return json.loads(last)["log"]  # type: ignore[no-any-return]
        if stage == "solve" and self.paths.output_log.exists():
            return str(self.paths.output_log.relative_to(self.paths.root))
        return None
