"""What the leaderboard needs of one trial, flat enough to live in index columns (no JSON parsing per row)."""

from __future__ import annotations

from dataclasses import dataclass
from posttrainbench.results.schema import Result, TokenUsage

MARKERS = {
    "not_submitted": "no final_model (or no trial): the base model's score counts",
    "evaluation_error": "the evaluation failed: the base model's score counts",
    "contamination": "the audit found test data in training: the base model's score counts",
    "disallowed_model": "the audit found a model other than the base model used: the base model's score counts",
    "tampering": "the agent modified the evaluation files: the base model's score counts",
    "api_misuse": "the agent used a hosted LLM API: the base model's score counts",
    "audit_error": "the audit gave no usable verdict: the base model's score counts",
}
"""Why a trial's own score does not count (``markers_of``), and what the reports say of it."""
MARKER_CODES = {"not_submitted": "N", "evaluation_error": "E", "contamination": "C", "disallowed_model": "M", "tampering": "T",
                "api_misuse": "P", "audit_error": "A"}
"""The one-letter code of each marker in the leaderboard's tables."""
AUDIT_FLAGS = {"contamination": "contamination", "disallowed_model": "disallowed_model", "tampering": "tampering",
               "api_misuse": "api_misuse"}
"""Audit checks whose ``flagged`` verdict replaces the cell by the base model's score, and their marker."""


@dataclass(frozen=True)
class TrialRecord:
    run_id: str
    label: str
    agent: str
    model: str
    benchmark: str
    seed: int
    hours: float
    status: str
    accuracy: float | None
    stderr: float | None
    markers: tuple[str, ...]
    """Why the trial's own score does not count (empty when it does): see ``markers_of``."""
    unaudited: bool
    """Some audit check did not run (verdict ``unknown``): the score counts, the cell says so."""
    wall_seconds: float | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    finished_at: str
    run_dir: str

    @classmethod
    def from_result(cls, result: Result, run_dir: str) -> TrialRecord:
        usage = result.trace.usage if result.trace else TokenUsage()
        return cls(
            run_id=result.run_id, label=result.label, agent=result.agent, model=result.model, benchmark=result.benchmark,
            seed=result.seed, hours=result.hours, status=result.status, accuracy=result.accuracy,
            stderr=result.metrics.stderr if result.metrics else None, markers=markers_of(result),
            unaudited=any(v.status == "unknown" for v in result.verdicts),
            wall_seconds=result.solve.wall_seconds if result.solve else None, input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens, cost_usd=usage.cost_usd,
            finished_at=result.finished_at, run_dir=run_dir,
        )


def markers_of(result: Result) -> tuple[str, ...]:
    """Every reason the trial's score is replaced by the base model's, as the original scores it:

    - ``not_submitted``: the agent left no ``final_model``;
    - ``evaluation_error``: a stage failed, or the evaluation produced no accuracy;
    - ``contamination`` / ``disallowed_model`` / ``tampering`` / ``api_misuse``: the audit (or a review) flagged
      the run;
    - ``audit_error``: one of those checks ran and gave no usable verdict (the original treats a missing or
      garbled judgement the same way as a flag).
    """
    markers: list[str] = []
    if result.status == "no_submission" or (result.status == "success" and not result.submitted):
        markers.append("not_submitted")
    elif result.status == "error" or result.accuracy is None:
        markers.append("evaluation_error")
    for verdict in result.verdicts:
        check = verdict.check
        if check in AUDIT_FLAGS and verdict.status == "flagged":
            markers.append(AUDIT_FLAGS[check])
        elif check in AUDIT_FLAGS and verdict.status == "error" and "audit_error" not in markers:
            markers.append("audit_error")
    return tuple(markers)

