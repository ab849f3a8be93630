"""Leaderboards from the results index: scoring (``scoring``), text tables (``tables``), the HTML report (``html``),
baselines (``baselines``) and the original's published reference rows (``published``)."""

from __future__ import annotations

from pathlib import Path

from posttrainbench.report.published import published_rows
from posttrainbench.report.scoring import Row, Weights, leaderboard, weights
from posttrainbench.results import index


def build(results_root: Path, published: bool = False) -> tuple[list[Row], Weights]:
    """The scored rows of every indexed trial and stored baseline (plus the published reference rows)."""
    baselines = index.load_baselines(results_root)
    extra = published_rows(weights(baselines)) if published else []
    return leaderboard(index.load_records(results_root), baselines, extra)
