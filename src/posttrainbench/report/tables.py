"""The first leaderboard: one row per label, per-benchmark mean accuracy, weighted score over benchmarks.

Scoring here is deliberately plain: the mean accuracy of each benchmark over the row's successful trials,
and the catalog-weighted sum over benchmarks. Benchmarks without a successful trial count as 0 and the
row says how many of the seven it covers. (Baseline substitution and seeds come with the full scoring.)
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from statistics import mean
from typing import Any

from posttrainbench.catalog import all_benchmarks
from posttrainbench.results.schema import Result


def leaderboard(results: list[Result]) -> list[dict[str, Any]]:
    by_label: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_label[result.label].append(result)
    benchmarks = all_benchmarks()
    rows = []
    for label, trials in by_label.items():
        per_benchmark: dict[str, float | None] = {}
        for benchmark in benchmarks:
            scores = [t.accuracy for t in trials if t.benchmark == benchmark.id and t.accuracy is not None]
            per_benchmark[benchmark.id] = mean(scores) if scores else None
        score = sum(b.weight * (per_benchmark[b.id] or 0.0) for b in benchmarks)
        rows.append({
            "name": label,
            "score": score,
            "benchmarks_covered": sum(v is not None for v in per_benchmark.values()),
            "trials": len(trials),
            "failed": sum(t.status != "success" for t in trials),
            "benchmarks": per_benchmark,
        })
    return sorted(rows, key=lambda row: row["score"], reverse=True)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def to_markdown(rows: list[dict[str, Any]]) -> str:
    ids = [b.id for b in all_benchmarks()]
    head = ["name", "score", *ids, "covered", "trials", "failed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["name"], _pct(row["score"]), *(_pct(row["benchmarks"][i]) for i in ids),
                 f"{row['benchmarks_covered']}/{len(ids)}", str(row["trials"]), str(row["failed"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict[str, Any]]) -> str:
    ids = [b.id for b in all_benchmarks()]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "score", *ids, "benchmarks_covered", "trials", "failed"])
    for row in rows:
        writer.writerow([row["name"], row["score"], *("" if row["benchmarks"][i] is None else row["benchmarks"][i] for i in ids),
                         row["benchmarks_covered"], row["trials"], row["failed"]])
    return out.getvalue()


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=2) + "\n"


FORMATS = {"md": to_markdown, "csv": to_csv, "json": to_json}
