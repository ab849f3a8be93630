"""``Result``: the record of one trial, written as ``result.json``. Field docstrings are the format's docs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 1
Status = Literal["success", "no_submission", "error"]


class StageFailure(BaseModel):
    stage: str
    """The stage that failed."""
    message: str
    """One-line reason."""
    log: str | None = None
    """Path (relative to the run directory) of the log that explains it."""
    log_tail: list[str] = []
    """Last lines of that log."""


class Verdict(BaseModel):
    """One integrity check's verdict on a trial."""

    check: str
    """contamination, disallowed_model, tampering or api_misuse."""
    verdict: Literal["clean", "flagged", "unknown", "error"]
    """clean / flagged: the check ran and decided; unknown: it did not run; error: it ran without a usable answer."""
    evidence: str = ""
    """What the verdict rests on, in words."""


class Result(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    run_id: str
    status: Status
    """success: evaluated; no_submission: the agent left no final_model; error: a stage failed."""
    label: str
    """Leaderboard row this trial belongs to."""
    agent: str
    model: str
    """Base model id."""
    benchmark: str
    seed: int
    hours: float
    """The agent's time budget."""
    sandbox: str
    device: str
    solve: dict[str, Any] | None = None
    """How the agent ended: reason (normal/timeout/signal/error/interrupted), exit_code, signal, wall_seconds."""
    submitted: bool = False
    """Whether the agent left a final_model."""
    final_model_bytes: int | None = None
    metrics: dict[str, Any] | None = None
    """Evaluation metrics: accuracy, stderr, ... plus the attempt and token cap that produced them."""
    verdicts: list[Verdict] = []
    """Integrity verdicts with their evidence."""
    error: StageFailure | None = None
    stage_seconds: dict[str, float] = {}
    """Wall time of each stage, including stages resumed after a crash."""
    protocol_overrides: dict[str, Any] = {}
    """Deviations from the benchmark's evaluation protocol (limit, token caps, local data): not comparable."""
    ptb_version: str
    finished_at: str
    imported_from: str | None = None
    """For a trial imported from another harness's results (``ptb import upstream``): the folder it came from."""

    @property
    def accuracy(self) -> float | None:
        value = (self.metrics or {}).get("accuracy")
        return float(value) if isinstance(value, int | float) else None
