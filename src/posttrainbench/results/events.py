"""The common event of an agent's trace (``agent/events.jsonl``), the same for every scaffold.

- ``message`` (role, text), ``reasoning`` (text);
- ``tool_call`` (call_id, tool, input, command) and ``tool_result`` (call_id, exit_code, output, is_error),
  one of each per call even where the scaffold reports a call on several lines;
- ``error`` (text), ``usage`` (a token report as the scaffold gave it);
- ``other``: anything else, kept whole in ``raw``.

The scaffolds' parsers (``agents/``) write these; the reports read them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

KINDS = ("message", "reasoning", "tool_call", "tool_result", "error", "usage", "other")

@dataclass
class Event:
    kind: str
    text: str | None = None
    role: str | None = None
    tool: str | None = None
    call_id: str | None = None
    input: Any = None
    command: str | None = None
    exit_code: int | None = None
    output: str | None = None
    is_error: bool | None = None
    time: str | None = None
    raw: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

def write_events(path: Path, events: list[Event]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as out:
        for event in events:
            out.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")

def read_events(path: Path) -> list[Event]:
    """The events of an ``events.jsonl``; a line that is not an event is skipped."""
    events = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            events.append(Event(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    return events
