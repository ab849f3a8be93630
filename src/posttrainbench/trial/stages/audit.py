"""Stage audit: the integrity verdicts (``posttrainbench.integrity``) on what the agent left, written to
``audit.json``. ``ptb audit RUN_DIR`` runs it again on a finished trial."""

from __future__ import annotations

from pathlib import Path

from posttrainbench import integrity
from posttrainbench.config import TrialConfig
from posttrainbench.errors import PtbError
from posttrainbench.fileio import read_json, write_json_atomic
from posttrainbench.results.events import read_events
from posttrainbench.results.schema import AuditRecord, CollectRecord
from posttrainbench.trial.context import Context


def run(context: Context) -> AuditRecord:
    record = AuditRecord(verdicts=integrity.audit(inputs(context)))
    write_json_atomic(context.paths.audit, record.model_dump(mode="json"))
    return record


def inputs(context: Context) -> integrity.AuditInputs:
    config, paths = context.config, context.paths
    collected = context.record("collect", CollectRecord)
    data = config.evaluation.data
    return integrity.AuditInputs(
        workspace=paths.workspace,
        benchmark=config.benchmark,
        base_model_id=config.model.id,
        base_model=Path(config.model.path),
        final_model=paths.final_model if collected and collected.submitted else None,
        instruct_model=instruct_weights(config.model.instruct),
        data=Path(data) if data else None,
        manifest=read_json(paths.manifest) if paths.manifest.is_file() else None,
        events=read_events(paths.events) if paths.events.is_file() else None,
        extra_roots=[(paths.hf_cache_added, "../hf_cache_added/")] if paths.hf_cache_added.is_dir() else [],
        judge=context.audit_judge or configured_judge(config),
        judge_proxy_log=paths.judge_proxy,
        progress=(lambda line: context.progress("audit", line)) if context.progress else None,
    )


def configured_judge(config: TrialConfig) -> integrity.AuditJudge | None:
    """The LLM judge the trial's configuration asks for (``audit_judge_model``), on the evaluation judge's
    endpoint and key; a missing key makes every judge run fail, so the verdicts say unknown."""
    if config.audit_judge_model is None:
        return None
    settings = config.evaluation.judge_settings(model=config.audit_judge_model, attempts=3)
    return integrity.AuditJudge(settings, runs=config.audit_judge_runs)


def instruct_weights(repo_id: str | None) -> Path | None:
    """The instruct counterpart's snapshot in the HF cache, where it is there (it is never downloaded here)."""
    from posttrainbench.models import cached_snapshot

    if not repo_id:
        return None
    try:
        return cached_snapshot(repo_id)
    except PtbError:
        return None
