"""Published reference values, shipped as data with their source, for context rows in reports.

The original publishes, per benchmark, the zero-shot score averaged over its four official instruct models and
over its four base models (PostTrainBench README leaderboard, percent). The headline score is linear in the
cells, so these averages give the reference rows' scores exactly: 51.1 (instruct) and 7.5 (base) with the
published weights.
"""

from __future__ import annotations

from posttrainbench.report.scoring import Cell, Row, Weights, score_cells

SOURCE = "PostTrainBench README leaderboard: mean zero-shot score of the 4 official instruct / 4 base models"

INSTRUCT_PERCENT = {"aime2025": 29.2, "arenahardwriting": 70.2, "bfcl": 85.0, "gpqamain": 36.2, "gsm8k": 87.0,
                    "healthbench": 43.3, "humaneval": 71.5}
BASE_ZERO_SHOT_PERCENT = {"aime2025": 1.7, "arenahardwriting": 1.3, "bfcl": 1.5, "gpqamain": 8.5, "gsm8k": 20.4,
                          "healthbench": 9.5, "humaneval": 12.8}


def published_rows(w: Weights) -> list[Row]:
    rows = []
    for name, percents in (("Official instruct models (published)", INSTRUCT_PERCENT),
                           ("Base models, zero-shot (published)", BASE_ZERO_SHOT_PERCENT)):
        cells = {0: {"mean of the 4 models": {b: Cell(percents[b] / 100, percents[b] / 100) for b in w.by_benchmark}}}
        row = score_cells(name, cells, w)
        row.reference = SOURCE
        rows.append(row)
    return rows
