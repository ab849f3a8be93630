"""Stage record: the trial's ``Result``, composed from the other stages' records, written to ``result.json``
and upserted into the results index. It also runs after a failed stage, to record the failure."""

from __future__ import annotations

from posttrainbench import __version__
from posttrainbench.fileio import iso_now, write_json_atomic
from posttrainbench.results import index
from posttrainbench.results.reviews import read_reviews
from posttrainbench.results.schema import (
    AuditRecord,
    CollectRecord,
    EvaluateRecord,
    PreflightRecord,
    RecordRecord,
    Result,
    RunFiles,
    SolveRecord,
)
from posttrainbench.trial.context import Context
from posttrainbench.trial.paths import STAGES, RunPaths


def run(context: Context) -> RecordRecord:
    result = build_result(context)
    write_json_atomic(context.paths.result, result.model_dump(mode="json"))
    index.upsert(context.paths.root.parent, result, context.paths.root)
    return RecordRecord(status=result.status)


def build_result(context: Context) -> Result:
    config = context.config
    failure = context.failure()
    collected = context.record("collect", CollectRecord)
    if failure:
        status = "error"
    elif collected is None or not collected.submitted:
        status = "no_submission"
    else:
        status = "success"
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
        preflight=context.record("preflight", PreflightRecord),
        solve=context.record("solve", SolveRecord),
        collect=collected,
        audit=reviewed_audit(context),
        evaluation=context.record("evaluate", EvaluateRecord),
        error=failure,
        files=run_files(context.paths),
        stage_seconds={stage: context.timing(stage).seconds for stage in STAGES[:-1] if context.done(stage)},
        # only what changes scores: backend, profile and the judge's endpoint do not
        protocol_overrides=config.evaluation.model_dump(include={"limit", "max_tokens", "data", "judge_model"}, exclude_none=True),
        ptb_version=__version__,
        finished_at=iso_now(),
    )


def reviewed_audit(context: Context) -> AuditRecord | None:
    """The audit's verdicts with the human reviews of ``reviews.jsonl`` applied."""
    audit = context.record("audit", AuditRecord)
    reviews = read_reviews(context.paths.reviews)
    if audit is None or not reviews:
        return audit
    return AuditRecord(verdicts=[verdict.reviewed(reviews) for verdict in audit.verdicts])


def run_files(paths: RunPaths) -> RunFiles:
    """The run's files that the reports show, where they exist."""
    def relative(path: object) -> str | None:
        return path.relative_to(paths.root).as_posix() if path.is_file() else None  # type: ignore[attr-defined]

    return RunFiles(prompt=relative(paths.prompt), output_log=relative(paths.output_log), events=relative(paths.events),
                    transcript=relative(paths.transcript))
