"""Leaderboards from the results index: scoring (``scoring``), text tables (``tables``), the HTML report (``html``),
baselines (``baselines``) and the original's published reference rows (``published``)."""

from __future__ import annotations

from pathlib import Path

from posttrainbench.errors import PtbError
from posttrainbench.report.published import published_rows
from posttrainbench.results.scoring import Row, Weights, leaderboard, weights
from posttrainbench.results import index


def build(results_root: Path, published: bool = False) -> tuple[list[Row], Weights]:
    """The scored rows of every indexed trial and stored baseline (plus the published reference rows)."""
    baselines = index.load_baselines(results_root)
    extra = published_rows(weights(baselines)) if published else []
    return leaderboard(index.load_records(results_root), baselines, extra)


def html_folder(results_root: Path, out: Path | None = None) -> Path:
    """Where the HTML report goes (default ``<results>/report``); a path that is a file is a one-line error."""
    folder = (out or results_root / "report").expanduser()
    if folder.exists() and not folder.is_dir():
        raise PtbError(f"{folder} is a file; the HTML report is a folder (pick another --out)")
    return folder


def write_html(results_root: Path, rows: list[Row], w: Weights, out: Path | None = None) -> Path:
    """Write the HTML report folder with a page per linked run; returns its index.html."""
    from posttrainbench.report.html import write_report

    folder = html_folder(results_root, out)
    try:
        return write_report(folder, rows, w, index.results_by_run(results_root))
    except OSError as error:
        raise PtbError(f"cannot write the HTML report to {folder}: {error.strerror or error}") from None
