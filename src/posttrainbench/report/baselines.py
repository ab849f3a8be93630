"""``ptb baseline``: evaluate untouched models with the pristine evaluator and store them as reference rows.

A base model's zero-shot score is what a failed or flagged cell of that model falls back to; the instruct
models' scores, with the base models', let the benchmark weights be recomputed. Each evaluation runs in a
fresh ``ptb eval`` process, as the final evaluation of a trial does, so one model's memory never stays
behind for the next. The metrics are kept in ``<results>/baselines/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posttrainbench.catalog import all_models
from posttrainbench.errors import PtbError
from posttrainbench.evaluation.eval_settings import EvalSettings, run_eval_process
from posttrainbench.fileio import iso_now
from posttrainbench.models import cached_snapshot, resolve_model
from posttrainbench.results import index
from posttrainbench.results.index import Baseline


@dataclass(frozen=True)
class BaselineModel:
    key: str
    """The model id trials of this model carry (what the fallback looks up)."""
    path: Path
    family: str
    kind: str


def resolve(model: str, family: str | None, kind: str | None, few_shot: bool = False) -> BaselineModel:
    """A catalog base model (zero-shot, or few-shot), a catalog instruct model, or a local directory (with
    --family, and --kind unless few-shot)."""
    instruct = {m.instruct: m for m in all_models()}
    if model in instruct:
        if few_shot:
            raise PtbError(f"{model} is an instruct model; the few-shot baseline evaluates base models")
        return BaselineModel(model, cached_snapshot(model), instruct[model].family, kind or "instruct")
    spec = resolve_model(model, family)
    if few_shot:
        kind = "base_few_shot"
    if kind is None and spec.instruct is None:
        raise PtbError(f"{model}: a local model directory needs --kind (base_zero_shot or instruct)")
    return BaselineModel(spec.id, Path(spec.path), spec.family, kind or "base_zero_shot")


def run_baselines(models: list[BaselineModel], benchmarks: list[str], results_root: Path, common: dict[str, Any],
                  progress: Callable[[str], None]) -> tuple[list[Baseline], list[str]]:
    """Evaluate every (model, benchmark) with the ``EvalSettings`` fields in ``common``; store the successes;
    return them and the failures (one line each)."""
    stored, failures = [], []
    folder = results_root / "baselines"
    folder.mkdir(parents=True, exist_ok=True)
    for model in models:
        for benchmark in benchmarks:
            stem = f"{re.sub(r'[^A-Za-z0-9._-]', '_', model.key)}__{benchmark}__{model.kind}"
            output = folder / f"{stem}.json"
            progress(f"evaluating {model.key} on {benchmark} ({model.kind})")
            settings = EvalSettings(model_path=model.path, benchmark=benchmark, family=model.family, **common)
            proc = run_eval_process(settings, folder / f"{stem}.settings.json", output, capture_output=True, text=True)
            if proc.returncode != 0 or not output.is_file():
                lines = (proc.stderr or proc.stdout).strip().splitlines() or [f"exit {proc.returncode}"]
                failures.append(f"{model.key} on {benchmark}: {lines[-1]}")
                continue
            metrics = json.loads(output.read_text())
            settings = ", ".join(f"{k}={metrics[k]}" for k in ("n", "max_tokens", "backend", "profile") if k in metrics)
            if "shots" in metrics.get("prompting", {}):
                settings += f", shots={metrics['prompting']['shots']}"
            baseline = Baseline(model.key, benchmark, model.kind, float(metrics["accuracy"]), f"ptb baseline {iso_now()} ({settings}): {output}")
            index.upsert_baselines(results_root, [baseline])
            stored.append(baseline)
    return stored, failures
