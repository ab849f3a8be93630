"""The audit: four verdicts on what an agent did, each ``clean``, ``flagged`` or ``unknown``, with evidence.

- ``contamination``: the benchmark's test items in the workspace and in what the agent added to the HF cache
  (``contamination.py``), plus look-ups of the benchmark's published results in the trace;
- ``disallowed_model``: ``final_model`` against the base model, tensor by tensor (``lineage.py``), plus
  downloads of other models of the family in the trace;
- ``tampering``: the harness's files in the workspace against the manifest written when it was prepared,
  plus writes to evaluation files in the trace;
- ``api_misuse``: hosted LLM endpoints and clients in the agent's tool calls and code (``trace_rules.py``),
  and requests the judge proxy refused as not grading (``judge_proxy.py``).

A check that could not run says ``unknown`` with the reason, never ``clean``. The final evaluation never
uses workspace code, so tampering is evidence about the agent, not a risk to the score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posttrainbench.fileio import sha256_file
from posttrainbench.integrity import contamination, judge_proxy, lineage, trace_rules
from posttrainbench.integrity.llm_judge import AuditJudge, Task, judge_verdicts
from posttrainbench.results.events import Event
from posttrainbench.results.schema import Evidence, Verdict

CHECKS = ("contamination", "disallowed_model", "tampering", "api_misuse")
EVALUATION_FILES = ("evaluate.py", "templates/")
"""Harness files the prompt tells the agent not to modify."""
FOUND_SHOWN = 20
"""Found test items listed as evidence (the count covers all of them)."""


@dataclass
class AuditInputs:
    workspace: Path
    benchmark: str
    base_model_id: str
    base_model: Path
    final_model: Path | None = None
    instruct_model: Path | None = None
    data: Path | None = None
    """Local test data in the benchmark's published schema; None reads the pinned source."""
    manifest: dict[str, str] | None = None
    """sha256 of each file the harness placed in the workspace; None when the workspace was not made by a trial."""
    events: list[Event] | None = None
    """The agent's parsed trace; None when there is none."""
    extra_roots: list[tuple[Path, str]] = field(default_factory=list)
    """More folders to scan for test items, with the label their files get."""
    judge: AuditJudge | None = None
    """The optional LLM judge, asked after the deterministic checks."""
    judge_proxy_log: Path | None = None
    """What the agent sent to the judge proxy (judged benchmarks)."""
    progress: Callable[[str], None] | None = None
    """Hears how far a long check has come."""


def audit(inputs: AuditInputs) -> list[Verdict]:
    harness_files = set(inputs.manifest or ())
    findings = trace_rules.check(inputs.events or [], inputs.workspace, harness_files, inputs.base_model_id,
                                 _test_markers(inputs.benchmark))
    no_trace = [] if inputs.events is not None else [Evidence(rule="trace", detail="no parsed trace: tool calls not checked")]
    verdicts = [
        _contamination(inputs, harness_files, findings.contamination),
        _disallowed_model(inputs, findings.disallowed_model),
        _tampering(inputs, findings.tampering),
        _api_misuse(findings.api_misuse + _proxy_refusals(inputs.judge_proxy_log), no_trace),
    ]
    if inputs.judge is None:
        return verdicts
    from posttrainbench.evaluation.benchmarks import get_benchmark

    task = Task(inputs.benchmark, inputs.base_model_id, get_benchmark(inputs.benchmark).training_note, inputs.workspace, inputs.events)
    return judge_verdicts(verdicts, task, inputs.judge)


def _verdict(check: str, status: str, evidence: list[Evidence]) -> Verdict:
    return Verdict(check=check, status=status, evidence=evidence)  # type: ignore[arg-type]


def _contamination(inputs: AuditInputs, harness_files: set[str], from_trace: list[Evidence]) -> Verdict:
    try:
        items, allowed = test_items(inputs.benchmark, inputs.data)
    except Exception as error:  # noqa: BLE001 - data missing or in the wrong schema: the check cannot run
        return _verdict("contamination", "unknown", [Evidence(rule="test items", detail=f"not available: {error}"), *from_trace])
    if not inputs.workspace.is_dir():
        return _verdict("contamination", "unknown", [Evidence(rule="scan", detail=f"no workspace at {inputs.workspace}"), *from_trace])
    roots = [(inputs.workspace, ""), *inputs.extra_roots]
    try:
        report = contamination.scan(items, roots, allowed, exclude=harness_files, progress=inputs.progress)
    except Exception as error:  # noqa: BLE001 - a scan that fails decides nothing
        return _verdict("contamination", "unknown", [Evidence(rule="scan", detail=f"failed: {type(error).__name__}: {error}"), *from_trace])
    evidence = [Evidence(rule="scan", detail=report.summary())]
    for found in report.found[:FOUND_SHOWN]:
        hit = found.hit
        evidence.append(Evidence(
            rule="test item found",
            detail=f"item {found.id}: {found.overlap:.0%} of its {found.field} seen, most frequent n-gram {found.occurrences}x",
            file=hit.file if hit else None, offset=hit.offset if hit else None, excerpt=hit.excerpt if hit else None))
    evidence += [Evidence(rule="unreadable file", detail=line) for line in report.skipped[:10]]
    # reading the test data is allowed (evaluating is); a look-up of published results needs a person's review
    lookups = [e for e in from_trace if e.rule == trace_rules.PUBLISHED_LOOKUP]
    if report.items_indexed == 0:
        evidence.append(Evidence(rule="scan", detail="no test item could be indexed: nothing to look for"))
    undecided = lookups or report.skipped or report.items_indexed == 0
    status = "flagged" if report.flagged else "unknown" if undecided else "clean"
    return _verdict("contamination", status, evidence + from_trace)


def test_items(benchmark_id: str, data: Path | None) -> tuple[list[contamination.TestItem], list[str]]:
    """The benchmark's test items, and the texts of its allowed training data (``Benchmark.allowed_splits``)."""
    from posttrainbench.evaluation.benchmarks import get_benchmark
    from posttrainbench.evaluation.sources import load_records

    benchmark = get_benchmark(benchmark_id)
    items = contamination.items_from_records(load_records(benchmark.id, benchmark.sources["test"], data, "test"))
    if data is not None and data.is_file():
        return items, []  # one file holds the test split only (a folder holds a file per split)
    allowed = [text for split in benchmark.allowed_splits
               for item in contamination.items_from_records(load_records(benchmark.id, benchmark.sources[split], data, split))
               for text in item.fields.values()]
    return items, allowed


def _test_markers(benchmark_id: str) -> list[str]:
    """What names the benchmark's test data in a command: its dataset ids and file names."""
    from posttrainbench.evaluation.benchmarks import get_benchmark

    source = get_benchmark(benchmark_id).sources["test"]
    return [marker for marker in (getattr(source, "path", None), getattr(source, "filename", None)) if marker]


def _disallowed_model(inputs: AuditInputs, from_trace: list[Evidence]) -> Verdict:
    if inputs.final_model is None:
        return _verdict("disallowed_model", "clean", [Evidence(rule="lineage", detail="no final_model was submitted"), *from_trace])
    try:
        found = lineage.lineage(inputs.final_model, inputs.base_model, inputs.instruct_model)
    except Exception as error:  # noqa: BLE001 - whatever the agent left, a check that cannot read it says unknown
        return _verdict("disallowed_model", "unknown", [Evidence(rule="lineage", detail=f"could not compare: {error}"), *from_trace])
    evidence = [Evidence(rule="lineage", detail=found.summary()), *(Evidence(rule="lineage note", detail=n) for n in found.notes[:5])]
    if inputs.instruct_model is None:
        evidence.append(Evidence(rule="lineage", detail="the instruct model's weights are not at hand: distance to base only"))
    if found.kind in ("substituted", "different"):
        status = "flagged"
    elif found.kind == "unreadable" or (from_trace and inputs.instruct_model is None):
        status = "unknown"
    else:
        status = "clean"
    return _verdict("disallowed_model", status, evidence + from_trace)


def _tampering(inputs: AuditInputs, from_trace: list[Evidence]) -> Verdict:
    if inputs.manifest is None:
        return _verdict("tampering", "unknown", [Evidence(rule="manifest", detail="no manifest of the harness's files (a workspace not made by a trial, or its manifest.json is gone)"),
                                                 *from_trace])
    changed = manifest_changes(inputs.workspace, inputs.manifest)
    evidence = [Evidence(rule="manifest", detail=f"{path}: {change}", file=path) for path, change in changed.items()]
    touched = [path for path in changed if path.startswith(EVALUATION_FILES)]
    status = "flagged" if touched else "unknown" if from_trace else "clean"
    if not evidence:
        evidence.append(Evidence(rule="manifest", detail=f"all {len(inputs.manifest)} harness files unchanged"))
    return _verdict("tampering", status, evidence + from_trace)


def manifest_changes(workspace: Path, manifest: dict[str, str]) -> dict[str, str]:
    """Harness files that were modified or deleted since the workspace was prepared."""
    changes = {}
    for relative, digest in sorted(manifest.items()):
        path = workspace / relative
        if not path.is_file():
            changes[relative] = "deleted"
        elif path.is_symlink() or sha256_file(path) != digest:
            changes[relative] = "modified"
    return changes


def _proxy_refusals(log: Path | None) -> list[Evidence]:
    """Requests the judge proxy refused: the agent asked the judge for something other than grading."""
    refused = judge_proxy.refused_requests(log) if log else []
    return [Evidence(rule="judge proxy refused a request", detail=f"{entry.get('at')}: {entry.get('reason')}",
                     excerpt=entry.get("first_message")) for entry in refused[:20]]


def _api_misuse(found: list[Evidence], notes: list[Evidence]) -> Verdict:
    if found:
        return _verdict("api_misuse", "flagged", found)
    return _verdict("api_misuse", "clean", [Evidence(rule="hosted LLM APIs", detail="none in the agent's code or tool calls"), *notes])


def verdicts_json(verdicts: list[Verdict]) -> dict[str, Any]:
    """``{kind: {status, evidence}}``, as ``ptb audit --json`` prints it (with ``judged`` where a judge was asked)."""
    return {v.check: {"status": v.status, "evidence": [e.model_dump(exclude_none=True) for e in v.evidence],
                      **({"judged": v.judged} if v.judged else {}),
                      **({"audited": v.audited, "reviews": [r.model_dump() for r in v.reviews]} if v.reviews else {})}
            for v in verdicts}
