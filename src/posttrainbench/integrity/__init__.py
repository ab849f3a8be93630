"""Stage audit: integrity checks of what the agent did.

This is the slot the integrity checks fill (hash manifest, contamination scan, weight lineage, trace rules,
LLM judge). Until they exist every check records ``unknown``: a check that did not run is never ``clean``.
"""

from __future__ import annotations

from posttrainbench.results.schema import Verdict

CHECKS = ("contamination", "disallowed_model", "tampering", "api_misuse")


def audit() -> list[Verdict]:
    return [Verdict(check=check, verdict="unknown", evidence="check not implemented yet") for check in CHECKS]
