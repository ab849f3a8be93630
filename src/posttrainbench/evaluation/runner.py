"""Run one evaluation of a model directory on one benchmark and return validated metrics."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from posttrainbench.catalog import FAMILIES, get_benchmark, get_family
from posttrainbench.errors import EvaluationError, PtbError

# config.json model_type -> family, used only when no base model or family is given (standalone ptb eval).
_MODEL_TYPES = {"qwen3": "qwen3", "qwen2": "qwen3", "smollm3": "smollm3", "gemma3": "gemma3", "gemma3_text": "gemma3"}
BACKENDS = ("hf",)


def family_from_config(model_path: Path) -> str:
    config = model_path / "config.json"
    try:
        model_type = json.loads(config.read_text()).get("model_type", "")
    except (OSError, json.JSONDecodeError) as error:
        raise PtbError(f"cannot read {config} ({error}); pass --family {'|'.join(FAMILIES)}") from None
    if model_type not in _MODEL_TYPES:
        raise PtbError(f"cannot tell the family of model_type {model_type!r}; pass --family {'|'.join(FAMILIES)}")
    return _MODEL_TYPES[model_type]


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def evaluate(
    model_path: Path,
    benchmark_id: str,
    *,
    family: str | None = None,
    max_tokens: int | None = None,
    limit: int | None = None,
    data: Path | None = None,
    device: str = "auto",
    backend: str = "hf",
    max_connections: int | None = None,
    log_dir: Path | None = None,
) -> dict[str, Any]:
    """Evaluate ``model_path`` with the project's fixed chat template for ``family``; raise on any failure."""
    benchmark = get_benchmark(benchmark_id)
    if not (model_path / "config.json").is_file():
        raise PtbError(f"model path {model_path} is not a model directory (no config.json)")
    if backend not in BACKENDS:
        raise PtbError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
    family_source = "given"
    if family is None:
        family, family_source = family_from_config(model_path), "config.json"
    template = get_family(family).chat_template()

    from inspect_ai import eval as inspect_eval

    from posttrainbench.evaluation.benchmarks import build_task

    task = build_task(benchmark_id, data)
    cap = max_tokens or benchmark.default_max_tokens
    device = resolve_device(device)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ptb-eval-logs-") as tmp:
        logs = inspect_eval(
            task,
            model=f"hf/{model_path.resolve()}",
            model_args={"device": device, "chat_template": template},
            max_tokens=cap,
            max_connections=max_connections or benchmark.max_connections,
            limit=limit,
            log_dir=str(log_dir or tmp),
            log_format="json",
            display="none",
            score_display=False,
        )
    return _metrics(logs, benchmark_id, backend, cap, device, family, family_source, data, limit, time.monotonic() - started)


def _metrics(
    logs: list[Any], benchmark_id: str, backend: str, cap: int, device: str, family: str, family_source: str,
    data: Path | None, limit: int | None, seconds: float,
) -> dict[str, Any]:
    if len(logs) != 1:
        raise EvaluationError(f"expected one evaluation log, got {len(logs)}")
    log = logs[0]
    if log.status != "success":
        message = log.error.message if log.error else log.status
        raise EvaluationError(f"evaluation {log.status}: {message}")
    if not log.results or len(log.results.scores) != 1:
        raise EvaluationError("evaluation produced no single score")
    score = log.results.scores[0]
    values = {name: metric.value for name, metric in score.metrics.items()}
    if "accuracy" not in values:
        raise EvaluationError(f"scorer reported no accuracy (got {sorted(values)})")
    usage = log.stats.model_usage or {}
    return {
        "accuracy": values["accuracy"],
        "stderr": values.get("stderr"),
        "n": log.results.completed_samples,
        "benchmark": benchmark_id,
        "dataset_revision": get_benchmark(benchmark_id).revision if data is None else None,
        "data": str(data) if data is not None else None,
        "limit": limit,
        "backend": backend,
        "device": device,
        "max_tokens": cap,
        "family": family,
        "family_source": family_source,
        "wall_seconds": round(seconds, 2),
        "tokens_generated": sum(u.output_tokens for u in usage.values()),
    }
