"""Published reference values, shipped as data with their source, for context rows in reports.

The original publishes, per benchmark, the zero-shot score averaged over its four official instruct models and
over its four base models (PostTrainBench README leaderboard, percent); each benchmark module carries its
pair (``Benchmark.published``). The headline score is linear in the cells, so these averages give the
reference rows' scores exactly: 51.1 (instruct) and 7.5 (base) with the published weights.
"""

from __future__ import annotations

from posttrainbench.evaluation.benchmarks import get_benchmark
from posttrainbench.results.scoring import Cell, Row, Weights, score_cells

SOURCE = "PostTrainBench README leaderboard: mean zero-shot score of the 4 official instruct / 4 base models"


def published_rows(w: Weights) -> list[Row]:
    rows = []
    for name, kind in (("Official instruct models (published)", "instruct"), ("Base models, zero-shot (published)", "base")):
        percents = {b: getattr(get_benchmark(b).published, kind) for b in w.by_benchmark}
        cells = {0: {"mean of the 4 models": {b: Cell(percents[b] / 100, percents[b] / 100) for b in w.by_benchmark}}}
        row = score_cells(name, cells, w)
        row.reference = SOURCE
        rows.append(row)
    return rows
