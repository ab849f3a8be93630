"""Human reviews of integrity verdicts: ``reviews.jsonl`` in the run directory, one ``Review`` per line, oldest
first. Nothing is ever removed: a later review of the same check supersedes the earlier one."""

from __future__ import annotations

import json
from pathlib import Path

from posttrainbench.fileio import parse_model
from posttrainbench.results.schema import Review


def read_reviews(path: Path) -> list[Review]:
    if not path.is_file():
        return []
    return [parse_model(line, Review, f"{path}:{number}")
            for number, line in enumerate(path.read_text().splitlines(), 1) if line.strip()]


def append_review(path: Path, review: Review) -> None:
    with open(path, "a") as handle:
        handle.write(json.dumps(review.model_dump(mode="json")) + "\n")
