"""Leaderboards from the results index: scoring (``scoring``), text tables (``tables``), the HTML report (``html``),
baselines (``baselines``) and the original's published reference rows (``published``)."""

from __future__ import annotations

from pathlib import Path

from posttrainbench.errors import PtbError
from posttrainbench.report.published import published_rows
from posttrainbench.report.scoring import Row, Weights, leaderboard, weights
from posttrainbench.results import index


def build(results_root: Path, published: bool = False) -> tuple[list[Row], Weights]:
    """The scored rows of every indexed trial and stored baseline (plus the published reference rows)."""
    baselines = index.load_baselines(results_root)
    extra = published_rows(weights(baselines)) if published else []
    return leaderboard(index.load_records(results_root), baselines, extra)


def write_html(results_root: Path, rows: list[Row], w: Weights, out: Path | None = None) -> Path:
    """Write the HTML report folder (default ``<results>/report``) with a page per linked run; returns its index.html."""
    from posttrainbench.report.html import write_report

    folder = (out or results_root / "report").expanduser()
    if folder.exists() and not folder.is_dir():
        raise PtbError(f"{folder} is a file; the HTML report is a folder (pick another --out)")
    try:
        return write_report(folder, rows, w, index.results_by_run(results_root))
    except OSError as error:
        raise PtbError(f"cannot write the HTML report to {folder}: {error.strerror or error}") from None
