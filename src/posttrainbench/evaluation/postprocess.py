"""Clean-ups the original applies to a judged answer before the judge sees it.

``strip_think`` drops a leading ``<think>...</think>`` block. ``limit_repetitions`` cuts degenerate loops
(a model repeating a line, a block of lines or a phrase many times) down to ``MAX_REPEATS`` copies, so a
looping answer neither floods the judge nor pays for its tokens.
"""

from __future__ import annotations

import re

MAX_REPEATS = 5
_PASSES = 10
_MAX_BLOCK_LINES = 29
# Repeated substrings are searched by length band, shortest first, as the original does.
_SUBSTRING_BANDS = ((3, 30), (30, 60), (60, 120), (120, 250), (250, 500))


def strip_think(text: str) -> str:
    text = text.strip()
    if text.startswith("<think>") and "</think>" in text:
        return text.split("</think>", 1)[1].strip()
    return text


def limit_repetitions(text: str) -> str:
    for _ in range(_PASSES):
        cleaned = _repeated_substrings(_repeated_blocks(_repeated_lines(text)))
        if cleaned == text:
            break
        text = cleaned
    return text


def _repeated_lines(text: str) -> str:
    kept: list[str] = []
    run = 0
    for line in text.split("\n"):
        run = run + 1 if kept and line == kept[-1] else 1
        if run <= MAX_REPEATS:
            kept.append(line)
    return "\n".join(kept)


def _first_long_block_run(lines: list[str]) -> tuple[int, int, int] | None:
    """(start, block size, copies) of the first block of 2+ lines repeated more than MAX_REPEATS times."""
    for size in range(2, min(_MAX_BLOCK_LINES, len(lines) // MAX_REPEATS) + 1):
        for start in range(len(lines) - size * (MAX_REPEATS + 1) + 1):
            block = lines[start:start + size]
            copies = 1
            while lines[start + copies * size:start + (copies + 1) * size] == block:
                copies += 1
            if copies > MAX_REPEATS:
                return start, size, copies
    return None


def _repeated_blocks(text: str) -> str:
    lines = text.split("\n")
    while (found := _first_long_block_run(lines)) is not None:
        start, size, copies = found
        end = start + copies * size
        partial = 0  # a cut-off copy right after the run goes too
        while partial < size and end + partial < len(lines) and lines[end + partial] == lines[start + partial]:
            partial += 1
        lines = lines[:start + MAX_REPEATS * size] + lines[end + partial:]
    return "\n".join(lines)


def _repeated_substrings(text: str) -> str:
    for low, high in _SUBSTRING_BANDS:
        pattern = re.compile(r"(.{%d,%d}?)\1{%d,}" % (low, high, MAX_REPEATS), re.DOTALL)
        text = pattern.sub(lambda match: match.group(1) * MAX_REPEATS, text)
    return text
