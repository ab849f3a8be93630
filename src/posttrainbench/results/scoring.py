"""The PostTrainBench score, as the original computes it, with its uncertainty, time, tokens and cost.

For one leaderboard row (a label) and one seed:

- a **cell** is one (base model, benchmark): the accuracy of the latest trial there, unless that trial has a
  marker (not submitted, evaluation error, contamination, disallowed model, audit error) or there is no trial
  (not submitted); then the cell takes the base model's zero-shot baseline score and carries the marker;
- the **per-model score** is the weighted sum over the seven benchmarks, with weights w_b proportional to
  1 / (instruct_b - base_b) and summing to 1 (the published factors, or recomputed from the user's baselines
  when they cover every benchmark for both kinds);
- the **seed score** is the mean over the base models.

The row's score is the mean over seeds, with the sample standard deviation (n - 1; null for one seed) and a
percentile bootstrap interval over seeds. A cell that has no value at all (no trial and no baseline) counts as
0 and is counted in ``cells_without_value``, so an incomplete row is visible instead of silently high.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from math import fsum, sqrt
from statistics import fmean as mean
from typing import Any

from posttrainbench.evaluation.benchmarks import all_benchmarks
from posttrainbench.results.index import Baseline
from posttrainbench.results.records import TrialRecord

BOOTSTRAP_SAMPLES = 2000


@dataclass(frozen=True)
class Weights:
    by_benchmark: dict[str, float]
    source: str
    """``published`` (the original's factors) or ``recomputed`` (from the baselines given)."""


def weights(baselines: Iterable[Baseline] = ()) -> Weights:
    """Recompute w_b from base zero-shot and instruct baselines covering every benchmark; else the published factors."""
    benchmarks = [b.id for b in all_benchmarks()]
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    for baseline in baselines:
        if baseline.kind in ("base_zero_shot", "instruct"):
            scores[(baseline.kind, baseline.benchmark)].append(baseline.score)
    gaps = {}
    for benchmark in benchmarks:
        base, instruct = scores.get(("base_zero_shot", benchmark)), scores.get(("instruct", benchmark))
        if not base or not instruct or mean(instruct) <= mean(base):
            return Weights({b.id: b.weight for b in all_benchmarks()}, "published")
        gaps[benchmark] = mean(instruct) - mean(base)
    inverse = {b: 1 / gap for b, gap in gaps.items()}
    total = sum(inverse.values())
    return Weights({b: value / total for b, value in inverse.items()}, "recomputed")


@dataclass
class Cell:
    value: float | None
    """What counts in the score: the trial's accuracy, or the base model's score when ``markers`` say why."""
    accuracy: float | None = None
    """The trial's own accuracy, also when it does not count."""
    markers: tuple[str, ...] = ()
    run_id: str | None = None
    unaudited: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "accuracy": self.accuracy, "markers": list(self.markers), "run_id": self.run_id,
                "unaudited": self.unaudited}


@dataclass
class Row:
    name: str
    score: float
    std: float | None
    n_seeds: int
    ci95: tuple[float, float] | None
    seed_scores: dict[int, float]
    benchmarks: dict[str, float | None]
    """Per benchmark: the mean cell value over base models and seeds."""
    models: dict[str, float]
    """Per base model: the mean over seeds of its weighted score."""
    cells: dict[int, dict[str, dict[str, Cell]]]
    """seed -> base model -> benchmark -> cell."""
    marker_counts: dict[str, int]
    cells_without_value: int
    trials: int
    time: dict[str, float | None]
    usage: dict[str, float | None]
    reference: str | None = None
    """For a reference row (baselines, published values): where its numbers come from."""
    agents: list[str] = field(default_factory=list)
    unaudited_cells: int = 0
    """Cells whose integrity checks did not run (verdict ``unknown``): their scores count, unverified."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "score": self.score, "std": self.std, "n_seeds": self.n_seeds,
            "ci95": list(self.ci95) if self.ci95 else None, "seed_scores": {str(k): v for k, v in self.seed_scores.items()},
            "benchmarks": self.benchmarks, "models": self.models, "marker_counts": self.marker_counts,
            "cells_without_value": self.cells_without_value, "trials": self.trials, "time": self.time, "usage": self.usage,
            "reference": self.reference, "agents": self.agents, "unaudited_cells": self.unaudited_cells,
            "cells": {str(seed): {model: {b: c.to_dict() for b, c in cells.items()} for model, cells in by_model.items()}
                      for seed, by_model in self.cells.items()},
        }


def leaderboard(records: Sequence[TrialRecord], baselines: Sequence[Baseline] = (), published: Sequence[Row] = ()) -> tuple[list[Row], Weights]:
    """One row per label (plus reference rows), best first, and the weights used."""
    w = weights(baselines)
    base_scores = {(b.model, b.benchmark): b.score for b in baselines if b.kind == "base_zero_shot"}
    latest: dict[tuple[str, int, str, str], TrialRecord] = {}
    for record in sorted(records, key=lambda r: (r.finished_at, r.run_id)):
        latest[(record.label, record.seed, record.model, record.benchmark)] = record  # the latest trial wins
    models = sorted({r.model for r in records})
    by_label: dict[str, list[TrialRecord]] = defaultdict(list)
    for record in latest.values():
        by_label[record.label].append(record)
    rows = [_row(label, trials, models, base_scores, w) for label, trials in by_label.items()]
    rows += _baseline_rows(baselines, w) + list(published)
    return sorted(rows, key=lambda row: row.score, reverse=True), w


def _row(label: str, trials: list[TrialRecord], models: list[str], base_scores: dict[tuple[str, str], float], w: Weights) -> Row:
    benchmarks = list(w.by_benchmark)
    by_cell = {(t.seed, t.model, t.benchmark): t for t in trials}
    seeds = sorted({t.seed for t in trials})
    cells: dict[int, dict[str, dict[str, Cell]]] = {}
    for seed in seeds:
        cells[seed] = {model: {b: _cell(by_cell.get((seed, model, b)), base_scores.get((model, b))) for b in benchmarks}
                       for model in models}
    row = score_cells(label, cells, w)
    row.trials = len(trials)
    row.agents = sorted({t.agent for t in trials})
    row.time, row.usage = _time(trials), _usage(trials)
    return row


def _cell(trial: TrialRecord | None, base_score: float | None) -> Cell:
    if trial is None:
        return Cell(base_score, markers=("not_submitted",))
    if trial.markers:
        return Cell(base_score, trial.accuracy, trial.markers, trial.run_id, trial.unaudited)
    return Cell(trial.accuracy, trial.accuracy, (), trial.run_id, trial.unaudited)


def score_cells(name: str, cells: dict[int, dict[str, dict[str, Cell]]], w: Weights) -> Row:
    """The row's numbers from its cells (seed -> model -> benchmark)."""
    seed_scores: dict[int, float] = {}
    model_scores: dict[str, list[float]] = defaultdict(list)
    for seed, by_model in cells.items():
        per_model = {model: sum(weight * (by_benchmark[b].value or 0.0) for b, weight in w.by_benchmark.items())
                     for model, by_benchmark in by_model.items()}
        for model, value in per_model.items():
            model_scores[model].append(value)
        seed_scores[seed] = mean(per_model.values()) if per_model else 0.0
    all_cells = [cell for by_model in cells.values() for by_benchmark in by_model.values() for cell in by_benchmark.values()]
    markers: dict[str, int] = defaultdict(int)
    for cell in all_cells:
        for marker in cell.markers:
            markers[marker] += 1
    per_benchmark = {}
    for benchmark in w.by_benchmark:
        values = [by_model[benchmark].value for by_seed in cells.values() for by_model in by_seed.values()]
        per_benchmark[benchmark] = mean(v or 0.0 for v in values) if any(v is not None for v in values) else None
    scores = list(seed_scores.values())
    return Row(
        name=name, score=mean(scores) if scores else 0.0, std=stdev(scores) if len(scores) > 1 else None,
        n_seeds=len(scores), ci95=bootstrap_ci(scores), seed_scores=seed_scores, benchmarks=per_benchmark,
        models={model: mean(values) for model, values in model_scores.items()}, cells=cells, marker_counts=dict(markers),
        cells_without_value=sum(cell.value is None for cell in all_cells), trials=0, time={}, usage={},
        unaudited_cells=sum(cell.unaudited for cell in all_cells),
    )


def stdev(values: list[float]) -> float:
    """Sample standard deviation (n - 1), as the original reports the spread over seeds."""
    center = mean(values)
    return sqrt(fsum((v - center) ** 2 for v in values) / (len(values) - 1))


def bootstrap_ci(scores: list[float], samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> tuple[float, float] | None:
    """95% percentile bootstrap interval of the mean over seeds (None below two seeds); fixed RNG, so reproducible."""
    if len(scores) < 2:
        return None
    n = len(scores)
    picks = random.Random(seed).choices(scores, k=n * samples)  # one call: thousands of rows stay fast
    means = sorted(fsum(picks[i:i + n]) / n for i in range(0, n * samples, n))
    return means[int(0.025 * samples)], means[int(0.975 * samples) - 1]


def _time(trials: list[TrialRecord]) -> dict[str, float | None]:
    """Solve time: mean over trials, sample std over seeds of the per-seed mean, mean share of the budget."""
    timed = [t for t in trials if t.wall_seconds is not None]
    if not timed:
        return {"mean_seconds": None, "std_seconds": None, "budget_share": None}
    per_seed: dict[int, list[float]] = defaultdict(list)
    for t in timed:
        per_seed[t.seed].append(t.wall_seconds or 0.0)
    seed_means = [mean(v) for v in per_seed.values()]
    return {"mean_seconds": mean(t.wall_seconds or 0.0 for t in timed), "std_seconds": stdev(seed_means) if len(seed_means) > 1 else None,
            "budget_share": mean((t.wall_seconds or 0.0) / (t.hours * 3600) for t in timed if t.hours > 0)}


def _usage(trials: list[TrialRecord]) -> dict[str, float | None]:
    """Mean tokens and cost per trial over the trials that report them; total cost."""
    def average(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return mean(known) if known else None
    costs = [t.cost_usd for t in trials if t.cost_usd is not None]
    return {"input_tokens": average([t.input_tokens for t in trials]), "output_tokens": average([t.output_tokens for t in trials]),
            "cost_usd": mean(costs) if costs else None, "total_cost_usd": sum(costs) if costs else None}


def _baseline_rows(baselines: Sequence[Baseline], w: Weights) -> list[Row]:
    """Reference rows from stored baselines: one per kind, its models' scores as cells of a single seed."""
    rows = []
    names = {"base_zero_shot": "Base models, zero-shot", "base_few_shot": "Base models, few-shot", "instruct": "Official instruct models"}
    for kind, name in names.items():
        of_kind = [b for b in baselines if b.kind == kind]
        if not of_kind:
            continue
        by_model: dict[str, dict[str, Cell]] = defaultdict(dict)
        for b in of_kind:
            by_model[b.model][b.benchmark] = Cell(b.score, b.score)
        cells = {0: {model: {bench: scores.get(bench, Cell(None)) for bench in w.by_benchmark} for model, scores in by_model.items()}}
        row = score_cells(f"{name} (baseline)", cells, w)
        row.reference = "; ".join(sorted({b.source for b in of_kind}))
        rows.append(row)
    return rows
