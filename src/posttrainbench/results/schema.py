"""``Result``, the record of one trial (``result.json``), and the typed records it is composed of.

Each stage of a trial returns one record (``PrepareRecord`` ... ``RecordRecord``); the trial writes it, with
the stage's timing, as the stage's done-marker (``StageMarker``). A stage that fails writes a
``StageFailure``. ``Result`` holds the records of the stages that ran, so nothing downstream reads an untyped
dict. Field docstrings are the format's docs.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 2
Status = Literal["success", "no_submission", "error"]
RecordT = TypeVar("RecordT", bound=BaseModel)


class TokenUsage(BaseModel):
    """Token totals of a trial, the same way for every scaffold: ``input_tokens`` counts every prompt token,
    cached ones included (``cached_input_tokens`` are the cache reads among them); ``output_tokens`` counts
    every generated token, reasoning included, as the APIs bill them (``reasoning_tokens`` are the reasoning
    among them, where the scaffold says)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None

    def add(self, **counts: int | float | None) -> None:
        for name, value in counts.items():
            if value is not None:
                setattr(self, name, (getattr(self, name) or 0) + value)


class TraceSummary(BaseModel):
    """What the result keeps of the agent's parsed trace (the events themselves are in ``agent/events.jsonl``)."""

    usage: TokenUsage = TokenUsage()
    cost_source: str | None = None
    """Where ``usage.cost_usd`` came from: ``scaffold`` (it reported the cost) or ``price table``."""
    turns: int = 0
    tool_calls: int = 0
    errors: int = 0
    unparsed_lines: int = 0
    model: str | None = None
    session_id: str | None = None


class PrepareRecord(BaseModel):
    manifest_files: int
    """Files the harness placed in the workspace (their hashes are in ``manifest.json``)."""
    data_check_missing: str | None = None
    """Why the workspace has no ``check_contamination.py`` (its test data was not at hand); None when it has one."""


class Gpu(BaseModel):
    index: str
    name: str
    memory_used: str
    memory_total: str


class PreflightRecord(BaseModel):
    device: Literal["cpu", "cuda"]
    note: str | None = None
    gpus: list[Gpu] = []
    agent_cli_version: str | None = None
    agent_version_note: str | None = None


class Reprompt(BaseModel):
    at: str
    remaining_seconds: float
    message: str


class SolveRecord(BaseModel):
    """How the agent's run ended."""

    reason: Literal["normal", "timeout", "signal", "error", "interrupted"] | None = None
    """normal: it exited by itself; timeout: the hard deadline killed it; signal: something else killed it;
    error: it could not start; interrupted: the harness died while it ran and the budget ran out before a relaunch.
    None for an imported trial whose ending is not known."""
    exit_code: int | None = None
    signal: int | None = None
    wall_seconds: float | None = None
    """Time the agent ran, summed over its launches."""
    budget_seconds: float
    segments: int = 1
    """Launches: more than one when the harness was restarted while the agent ran."""
    started_at: str | None = None
    ended_at: str | None = None
    sandbox: str | None = None
    agent_settings: dict[str, Any] = {}
    """The agent's own settings (model, effort, ...) as it describes them."""
    reprompts: list[Reprompt] = []
    """Each time the agent stopped early and was asked to go on."""


class CollectRecord(BaseModel):
    submitted: bool
    """Whether the agent left a non-empty ``final_model``."""
    final_model_bytes: int | None = None
    final_model_files: list[str] = []
    pruned_weight_files: int = 0
    pruned_bytes: int = 0
    pruned_examples: list[str] = []
    dropped_links: list[str] = []
    """Symbolic links in ``final_model`` that led outside the allowed folders, not followed."""
    trace: TraceSummary | None = None
    """The agent's parsed trace, for agents with a trace parser."""


class Evidence(BaseModel):
    """One fact an integrity verdict rests on, pointing at where it was found."""

    rule: str
    """What was checked (``test item found``, ``hosted LLM API in the agent's code``, ...)."""
    detail: str
    """The finding, in words."""
    file: str | None = None
    """The file it was found in, relative to the workspace (``../hf_cache_added/...``: what the agent added to the HF cache)."""
    offset: int | None = None
    """Byte offset in that file."""
    excerpt: str | None = None
    """The text found there, clipped."""


VerdictStatus = Literal["clean", "flagged", "unknown", "error"]


class Review(BaseModel):
    """A person's decision on one verdict (``ptb review``): it overrides the audit, which stays on record."""

    check: str
    status: Literal["clean", "flagged"]
    note: str
    reviewer: str
    at: str


class Verdict(BaseModel):
    """One integrity check's verdict on a trial."""

    check: str
    """contamination, disallowed_model, tampering or api_misuse."""
    status: VerdictStatus
    """clean / flagged: decided (by the audit, or by the latest review); unknown: the check could not decide
    and the trial needs review; error: it ran without a usable answer (imported verdicts)."""
    evidence: list[Evidence] = []
    """What the audit's verdict rests on."""
    audited: VerdictStatus | None = None
    """The audit's own status, where a review changed it."""
    judged: VerdictStatus | None = None
    """The optional LLM judge's own decision (a strict majority of its runs; unknown without one), before the
    audit combined it with the deterministic check's; None when no judge was asked."""
    reviews: list[Review] = []
    """Every review of this check, oldest first."""

    def reviewed(self, reviews: list[Review]) -> Verdict:
        """This verdict with the reviews of its check applied (the latest one decides)."""
        mine = [review for review in reviews if review.check == self.check]
        if not mine:
            return self
        return self.model_copy(update={"status": mine[-1].status, "audited": self.audited or self.status, "reviews": mine})


class AuditRecord(BaseModel):
    verdicts: list[Verdict] = []


class Metrics(BaseModel):
    """What the evaluation measured: the fields every benchmark has, and its own beside them."""

    model_config = ConfigDict(extra="allow")

    accuracy: float | None = None
    stderr: float | None = None
    n: int | None = None
    """Samples scored."""
    max_tokens: int | None = None
    """The token cap of the attempt that produced these metrics."""
    attempt: int | None = None
    attempts_planned: int | None = None

    def extra(self) -> dict[str, Any]:
        return dict(self.__pydantic_extra__ or {})


class EvaluateRecord(BaseModel):
    metrics: Metrics | None = None
    skipped: str | None = None
    """Why there was nothing to evaluate."""


class RecordRecord(BaseModel):
    status: Status


class StageTiming(BaseModel):
    stage: str
    started_at: str
    finished_at: str
    seconds: float


class StageMarker(StageTiming, Generic[RecordT]):
    """A finished stage's done-marker: ``stages/<stage>.json``."""

    record: RecordT


class StageFailure(BaseModel):
    """A failed stage: ``stages/failure.json``, and ``Result.error``."""

    stage: str
    """The stage that failed."""
    message: str
    """One-line reason."""
    log: str | None = None
    """Path (relative to the run directory) of the log that explains it."""
    log_tail: list[str] = []
    """Last lines of that log."""


class RunFiles(BaseModel):
    """Files of the run directory that the reports show, relative to it (None where the trial has none)."""

    prompt: str | None = None
    output_log: str | None = None
    events: str | None = None
    transcript: str | None = None


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
    preflight: PreflightRecord | None = None
    solve: SolveRecord | None = None
    collect: CollectRecord | None = None
    audit: AuditRecord | None = None
    evaluation: EvaluateRecord | None = None
    error: StageFailure | None = None
    files: RunFiles = RunFiles()
    stage_seconds: dict[str, float] = {}
    """Wall time of each stage, including stages resumed after a crash."""
    protocol_overrides: dict[str, Any] = {}
    """Deviations from the benchmark's evaluation protocol (limit, token caps, local data): not comparable."""
    ptb_version: str
    finished_at: str
    imported_from: str | None = None
    """For a trial imported from another harness's results (``ptb import upstream``): the folder it came from."""

    @property
    def submitted(self) -> bool:
        return self.collect is not None and self.collect.submitted

    @property
    def metrics(self) -> Metrics | None:
        return self.evaluation.metrics if self.evaluation else None

    @property
    def verdicts(self) -> list[Verdict]:
        return self.audit.verdicts if self.audit else []

    @property
    def trace(self) -> TraceSummary | None:
        return self.collect.trace if self.collect else None

    @property
    def accuracy(self) -> float | None:
        return self.metrics.accuracy if self.metrics else None
