"""Stage audit: the integrity checks' verdicts (``posttrainbench.integrity``), written to ``audit.json``."""

from __future__ import annotations

from typing import Any

from posttrainbench import integrity
from posttrainbench.fileio import write_json_atomic
from posttrainbench.trial.context import Context


def run(context: Context) -> dict[str, Any]:
    verdicts = [verdict.model_dump() for verdict in integrity.audit()]
    write_json_atomic(context.paths.audit, {"verdicts": verdicts})
    return {"verdicts": verdicts}
