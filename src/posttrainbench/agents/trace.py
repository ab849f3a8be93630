"""One event log for every scaffold: each scaffold's parser (``parse`` in its module) turns its raw JSON-lines
output into common ``Event``s (``results/events.py``) and token totals; unknown events are never dropped (a
line that is not JSON becomes ``other`` with the line as text, and the parse goes on).

Lines may carry the ``[timestamp] `` prefix the harness adds to the agent's output log; it is stripped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posttrainbench.results.events import Event, write_events
from posttrainbench.results.schema import TokenUsage, TraceSummary

_LOG_PREFIX = re.compile(r"^\[\d{4}-\d\d-\d\dT[^\]]*\] ")
OUTPUT_LIMIT = 20_000
"""Characters of tool output kept per event (the raw log keeps everything)."""


@dataclass
class Trace:
    events: list[Event] = field(default_factory=list)
    usage: TokenUsage = field(default_factory=TokenUsage)
    model: str | None = None
    session_id: str | None = None
    cost_source: str | None = None
    """Where ``usage.cost_usd`` came from: ``scaffold`` (it reported the cost) or ``price table``."""

    def counts(self) -> dict[str, int]:
        return {
            "turns": sum(1 for e in self.events if e.kind == "message" and e.role == "assistant"),
            "tool_calls": sum(1 for e in self.events if e.kind == "tool_call"),
            "errors": sum(1 for e in self.events if e.kind == "error"),
            "unparsed_lines": sum(1 for e in self.events if e.kind == "other" and e.raw is None),
        }

    def summary(self) -> TraceSummary:
        """What ``result.json`` keeps of the trace."""
        return TraceSummary(usage=self.usage, cost_source=self.cost_source, model=self.model, session_id=self.session_id,
                            **self.counts())

    def to_json(self) -> dict[str, Any]:
        return {"events": [e.to_dict() for e in self.events], **self.summary().model_dump()}


def json_lines(text: str) -> Iterator[tuple[dict[str, Any] | None, str]]:
    """Each non-empty line as (object or None when it is not a JSON object, the line without log prefix)."""
    for line in text.splitlines():
        line = _LOG_PREFIX.sub("", line, count=1).strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            yield None, line
            continue
        yield (value if isinstance(value, dict) else None), line


def unparsed(line: str) -> Event:
    return Event("other", text=line[:2000])


def clip(text: Any) -> str | None:
    if text is None:
        return None
    text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    return text if len(text) <= OUTPUT_LIMIT else text[:OUTPUT_LIMIT] + f"\n[... {len(text) - OUTPUT_LIMIT} more characters]"


def as_int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def transcript(trace: Trace) -> str:
    """The trace as text a person reads from top to bottom."""
    out: list[str] = []
    for event in trace.events:
        when = f"[{event.time}] " if event.time else ""
        if event.kind == "message":
            out.append(f"{when}{(event.role or 'assistant').upper()}: {event.text or ''}")
        elif event.kind == "reasoning":
            out.append(f"{when}(thinking) {event.text or ''}")
        elif event.kind == "tool_call":
            shown = f"$ {event.command}" if event.command else json.dumps(event.input, ensure_ascii=False)
            out.append(f"{when}TOOL {event.tool or '?'}: {shown}")
        elif event.kind == "tool_result":
            status = f"exit {event.exit_code}" if event.exit_code is not None else ("error" if event.is_error else "done")
            out.append(f"{when}  -> {status}\n" + _indent(event.output or ""))
        elif event.kind == "error":
            out.append(f"{when}ERROR: {event.text}")
        elif event.kind == "usage":
            out.append(f"{when}(usage) {json.dumps(event.raw, ensure_ascii=False)}")
        else:
            out.append(f"{when}(other) {event.text if event.raw is None else json.dumps(event.raw, ensure_ascii=False)[:2000]}")
    usage = trace.usage
    out.append(f"-- tokens: input {usage.input_tokens}, cached {usage.cached_input_tokens}, output {usage.output_tokens}, "
               f"reasoning {usage.reasoning_tokens}; cost USD {usage.cost_usd}")
    return "\n".join(out) + "\n"


def _indent(text: str, limit: int = 2000) -> str:
    text = text if len(text) <= limit else text[:limit] + " [...]"
    return "\n".join("     " + line for line in text.splitlines())


def save_trace(trace: Trace, events: Path, transcript_file: Path) -> TraceSummary:
    """Write the trace as common events and as a transcript; return what the result keeps of it."""
    write_events(events, trace.events)
    transcript_file.write_text(transcript(trace))
    return trace.summary()
