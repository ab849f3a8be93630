"""What every stage gets: the trial's configuration, its run directory, the agent and the sandbox (each built
once, when a stage first asks), and the records earlier stages wrote."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from pydantic import BaseModel

from posttrainbench.agents import Agent, create_agent
from posttrainbench.config import TrialConfig
from posttrainbench.fileio import read_model
from posttrainbench.integrity.llm_judge import AuditJudge
from posttrainbench.results.schema import StageFailure, StageMarker, StageTiming
from posttrainbench.sandbox import Sandbox, get_sandbox
from posttrainbench.trial.paths import RunPaths

RecordT = TypeVar("RecordT", bound=BaseModel)


@dataclass(frozen=True)
class Context:
    config: TrialConfig
    paths: RunPaths
    audit_judge: AuditJudge | None = None
    """The optional LLM judge of the audit stage (``ptb audit --judge-model``)."""
    progress: Callable[[str, str], None] | None = None
    """Hears ``(stage, event)`` as a stage goes (the trial's own progress callback)."""

    @cached_property
    def agent(self) -> Agent:
        return create_agent(self.config.agent, **self.config.agent_args)

    @cached_property
    def sandbox(self) -> Sandbox:
        return get_sandbox(self.config.sandbox, self.config.container_image)

    def done(self, stage: str) -> bool:
        return self.paths.stage_marker(stage).is_file()

    def timing(self, stage: str) -> StageTiming:
        """When a finished stage ran, from its done-marker."""
        return read_model(self.paths.stage_marker(stage), StageTiming)

    def record(self, stage: str, record: type[RecordT]) -> RecordT | None:
        """What a finished stage recorded; None when it has not finished."""
        if not self.done(stage):
            return None
        return read_model(self.paths.stage_marker(stage), StageMarker[record]).record  # type: ignore[valid-type]

    def failure(self) -> StageFailure | None:
        return read_model(self.paths.failure, StageFailure) if self.paths.failure.is_file() else None
