"""Stage record: the trial's ``Result``, composed from the other stages' markers, written to ``result.json``
and upserted into the results index. It also runs after a failed stage, to record the failure."""

from __future__ import annotations

import json
from typing import Any

from posttrainbench import __version__
from posttrainbench.fileio import iso_now, tail_lines, write_json_atomic
from posttrainbench.results import index
from posttrainbench.results.schema import Result, StageFailure
from posttrainbench.trial.context import Context
from posttrainbench.trial.paths import STAGES


def run(context: Context) -> dict[str, Any]:
    result = build_result(context)
    write_json_atomic(context.paths.result, result.model_dump(mode="json"))
    index.upsert(context.paths.root.parent, result, context.paths.root)
    return {"status": result.status}


def build_result(context: Context) -> Result:
    config, paths = context.config, context.paths
    markers = {stage: context.marker(stage) for stage in STAGES[:-1] if context.done(stage)}
    failure = context.failure()
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
        log = _failure_log(context, failure["stage"])
        error = StageFailure(stage=failure["stage"], message=failure["message"], log=log,
                             log_tail=tail_lines(paths.root / log) if log else [])
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


def _failure_log(context: Context, stage: str) -> str | None:
    paths = context.paths
    if stage == "evaluate" and paths.attempts.exists():
        last = paths.attempts.read_text().strip().splitlines()[-1]
        return json.loads(last)["log"]  # type: ignore[no-any-return]
    if stage == "solve" and paths.output_log.exists():
        return str(paths.output_log.relative_to(paths.root))
    return None
