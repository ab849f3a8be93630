"""The leaderboard as text: markdown, CSV and JSON (the HTML report is in ``report/html.py``)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from posttrainbench.results.scoring import Row, Weights
from posttrainbench.results.records import MARKER_CODES, MARKERS



def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _score(row: Row) -> str:
    return _pct(row.score) + ("" if row.std is None else f" ± {100 * row.std:.1f}")


def _markers(row: Row) -> str:
    return " ".join(f"{MARKER_CODES[m]}{n}" for m, n in sorted(row.marker_counts.items()) if m in MARKER_CODES) or "-"


def _hours(row: Row) -> str:
    seconds = row.time.get("mean_seconds")
    share = row.time.get("budget_share")
    return "-" if seconds is None else f"{seconds / 3600:.2f} h" + ("" if share is None else f" ({100 * share:.0f}%)")


UNAUDITED_NOTE = "Unaudited: cells whose integrity checks did not run (verdict unknown); their scores count, unverified."


def to_markdown(rows: list[Row], w: Weights) -> str:
    ids = list(w.by_benchmark)
    head = ["name", "score", "seeds", *ids, "markers", "unaudited", "time", "cost/trial"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cost = row.usage.get("cost_usd")
        cells = [row.name + (" *" if row.reference else ""), _score(row), str(row.n_seeds), *(_pct(row.benchmarks[i]) for i in ids),
                 _markers(row), str(row.unaudited_cells or "-"), _hours(row), "-" if cost is None else f"${cost:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    legend = "; ".join(f"{code} = {MARKERS[m].split(':')[0]}" for m, code in MARKER_CODES.items())
    lines += ["", f"Scores in %, mean ± sample std over seeds; weights: {w.source}. Markers count replaced cells: {legend}."]
    if any(row.unaudited_cells for row in rows):
        lines.append(UNAUDITED_NOTE)
    if any(row.reference for row in rows):
        lines.append("* reference row (baselines or published values), not an agent.")
    return "\n".join(lines) + "\n"


def to_csv(rows: list[Row], w: Weights) -> str:
    ids = list(w.by_benchmark)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "score", "std", "n_seeds", "ci95_low", "ci95_high", *ids, *MARKER_CODES, "cells_without_value", "unaudited", "trials",
                     "mean_seconds", "budget_share", "input_tokens", "output_tokens", "cost_usd", "reference"])
    for row in rows:
        ci = row.ci95 or (None, None)
        writer.writerow(_blank([row.name, row.score, row.std, row.n_seeds, *ci, *(row.benchmarks[i] for i in ids),
                                *(row.marker_counts.get(m, 0) for m in MARKER_CODES), row.cells_without_value, row.unaudited_cells, row.trials,
                                row.time.get("mean_seconds"), row.time.get("budget_share"), row.usage.get("input_tokens"),
                                row.usage.get("output_tokens"), row.usage.get("cost_usd"), row.reference]))
    return out.getvalue()


def _blank(values: list[Any]) -> list[Any]:
    return ["" if value is None else value for value in values]


def to_json(rows: list[Row], w: Weights) -> str:
    return json.dumps([row.to_dict() for row in rows], indent=1) + "\n"


FORMATS = {"md": to_markdown, "csv": to_csv, "json": to_json}
