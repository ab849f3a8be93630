"""``EvalSettings``: everything that configures one evaluation, in one model.

``ptb eval`` builds it from its flags, or reads it whole from ``--settings FILE``; the trial's evaluate stage
and ``ptb baseline`` write it as that file for the evaluation process, so no setting is rebuilt as flags on
the way.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from posttrainbench.evaluation.judge import JudgeSettings
from posttrainbench.fileio import write_text_atomic


class EvalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_path: Path
    benchmark: str
    family: str | None = Field(default=None, description="Family of the base model (picks the chat template); None: from config.json")
    max_tokens: int | None = Field(default=None, ge=1, description="Token cap; None: the benchmark's first ladder step")
    limit: int | None = Field(default=None, ge=1, description="Evaluate only the first N samples")
    data: Path | None = Field(default=None, description="Local data in the benchmark's published schema")
    device: str = "auto"
    backend: str = "auto"
    profile: str = "fast"
    max_connections: int | None = Field(default=None, ge=1)
    seed: int = 0
    repeats: int = Field(default=1, ge=1)
    few_shot: bool = False
    choice_seed: int | None = Field(default=None, ge=0)
    chat_template: Literal["upstream", "project"] | None = None
    judge: JudgeSettings = Field(default_factory=JudgeSettings)

    def write(self, path: Path) -> Path:
        write_text_atomic(path, self.model_dump_json(indent=2) + "\n")
        return path


def evaluate_settings(settings: EvalSettings) -> dict[str, Any]:
    """Run the evaluation ``settings`` describe (``settings.repeats`` times); return its metrics."""
    from posttrainbench.evaluation.runner import evaluate_repeated

    options = settings.model_dump(exclude={"model_path", "benchmark", "repeats", "seed", "judge"})
    return evaluate_repeated(settings.model_path, settings.benchmark, repeats=settings.repeats, seed=settings.seed,
                             judge=settings.judge, **options)


def eval_command(settings_file: Path, output: Path) -> list[str]:
    """The evaluation process: the installed package's ``ptb eval``, never a copy in a workspace."""
    return [sys.executable, "-m", "posttrainbench", "eval", "--settings", str(settings_file), "--json-output-file", str(output)]


def run_eval_process(settings: EvalSettings, settings_file: Path, output: Path, **options: Any) -> subprocess.CompletedProcess[Any]:
    """Write ``settings`` to ``settings_file`` and run the evaluation process on it (``options``: ``subprocess.run``'s)."""
    return subprocess.run(eval_command(settings.write(settings_file), output), **options)
