"""Stage audit: the integrity checks' verdicts (``posttrainbench.integrity``), written to ``audit.json``."""

from __future__ import annotations

from posttrainbench import integrity
from posttrainbench.fileio import write_json_atomic
from posttrainbench.results.schema import AuditRecord
from posttrainbench.trial.context import Context


def run(context: Context) -> AuditRecord:
    record = AuditRecord(verdicts=integrity.audit())
    write_json_atomic(context.paths.audit, record.model_dump(mode="json"))
    return record
