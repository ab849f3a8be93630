"""What every stage gets: the trial's configuration and run directory, and what earlier stages recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from posttrainbench.config import TrialConfig
from posttrainbench.fileio import read_json
from posttrainbench.trial.paths import RunPaths


@dataclass(frozen=True)
class Context:
    config: TrialConfig
    paths: RunPaths

    def done(self, stage: str) -> bool:
        return self.paths.stage_marker(stage).is_file()

    def marker(self, stage: str) -> dict[str, Any]:
        """The done-marker of a finished stage: its timing and, under ``data``, what it returned."""
        return read_json(self.paths.stage_marker(stage))  # type: ignore[no-any-return]

    def failure(self) -> dict[str, Any] | None:
        return read_json(self.paths.failure) if self.paths.failure.is_file() else None
