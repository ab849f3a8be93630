"""Run one evaluation of a model directory on one benchmark and return validated metrics."""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from posttrainbench.catalog import FAMILIES, get_family
from posttrainbench.evaluation.benchmarks import Benchmark, get_benchmark
from posttrainbench.errors import EvaluationError, PtbError
from posttrainbench.evaluation.backends import drive_settings, inspect_model, resolve_backend, vllm_context
from posttrainbench.evaluation.chat_templates import ChatTemplate
from posttrainbench.evaluation.chat_templates import chat_template as load_chat_template
from posttrainbench.evaluation.judge import total_usage
from posttrainbench.evaluation.sampling import sampling_settings

# config.json model_type -> family, used only when no base model or family is given (standalone ptb eval).
_MODEL_TYPES = {"qwen3": "qwen3", "qwen2": "qwen3", "smollm3": "smollm3", "gemma3": "gemma3", "gemma3_text": "gemma3"}


def family_from_config(model_path: Path) -> str:
    config = model_path / "config.json"
    try:
        model_type = json.loads(config.read_text()).get("model_type", "")
    except (OSError, json.JSONDecodeError) as error:
        raise PtbError(f"cannot read {config} ({error}); pass --family {'|'.join(FAMILIES)}") from None
    if model_type not in _MODEL_TYPES:
        raise PtbError(f"cannot tell the family of model_type {model_type!r}; pass --family {'|'.join(FAMILIES)}")
    return _MODEL_TYPES[model_type]


def check_device(device: str) -> str:
    if device not in ("auto", "cpu", "cuda") and not re.fullmatch(r"cuda:\d+", device):
        raise PtbError(f"unknown --device {device!r}; known: auto, cpu, cuda, cuda:N")
    return device


def resolve_device(device: str) -> str:
    if check_device(device) != "auto":
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
    backend: str = "auto",
    profile: str = "fast",
    max_connections: int | None = None,
    judge: Any = None,
    seed: int = 0,
    model: Any = None,
    log_dir: Path | None = None,
    few_shot: bool = False,
    choice_seed: int | None = None,
    chat_template: str | None = None,
) -> dict[str, Any]:
    """Evaluate ``model_path`` with the fixed chat template of ``family``; raise on any failure.

    ``chat_template``: ``upstream`` (the original's template file, fetched and checked by SHA-256) or
    ``project`` (this project's own; not comparable); default ``PTB_CHAT_TEMPLATE``, else ``upstream``.

    ``model`` replaces the backend with a ready Inspect model (for scripted outputs); ``judge`` is the
    ``JudgeSettings`` of the judged benchmarks. ``few_shot`` evaluates as the few-shot baseline does
    (``evaluation/fewshot.py``): plain-text prompts with solved examples and fixed sampling.
    """
    from inspect_ai import eval as inspect_eval
    from inspect_ai._util.error import PrerequisiteError

    from posttrainbench.evaluation import fewshot
    from posttrainbench.evaluation.benchmarks import TaskOptions, draw_choice_seed

    benchmark = get_benchmark(benchmark_id)
    if not (model_path / "config.json").is_file():
        raise PtbError(f"model path {model_path} is not a model directory (no config.json)")
    family_source = "given"
    if family is None:
        family, family_source = family_from_config(model_path), "config.json"
    device = resolve_device(device)
    backend = "scripted" if model is not None else resolve_backend(backend, device)
    cap = max_tokens or benchmark.default_max_tokens
    drive = drive_settings(profile, benchmark, device, max_connections, cap, limit)
    shuffles = bool(benchmark.notes.get("choice_shuffle"))
    drawn = shuffles and choice_seed is None
    if drawn:
        choice_seed = draw_choice_seed()
    task = benchmark.build(data, TaskOptions(judge=judge, few_shot=few_shot, choice_seed=choice_seed))
    get_family(family)  # an unknown family fails with the known ones, few-shot too
    chosen = ChatTemplate(fewshot.plain_template(), "few-shot", "posttrainbench catalog/templates/plain.jinja", "plain.jinja") if few_shot \
        else load_chat_template(family, chat_template, tools=benchmark.uses_tools)
    template = chosen.text
    sampling, stop_seqs, prompting = sampling_settings(model_path), None, {"format": "chat template"}
    if few_shot:
        from inspect_ai import task_with

        shots = benchmark.shots(data)
        task = task_with(task, solver=fewshot.with_shots(task.solver, shots.items))
        sampling, stop_seqs = dict(fewshot.SAMPLING), fewshot.STOP_SEQS
        prompting = {"format": "few-shot plain text", "shots": len(shots.items), "shot_source": shots.source}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ptb-eval-") as tmp:
        model_args: dict[str, Any] = {}
        context = None
        if backend == "vllm":
            samples = list(task.dataset)[:limit] if limit else list(task.dataset)
            context = vllm_context(model_path, template, samples, cap)
        if model is None:
            model, model_args = inspect_model(backend, model_path, template, device, drive, benchmark.uses_tools, Path(tmp), context)
        generator = getattr(getattr(model, "api", None), "generator", None)
        try:
            logs = inspect_eval(
                task, model=model, model_args=model_args, max_tokens=cap, max_connections=drive.max_connections,
                temperature=sampling["temperature"], top_p=sampling["top_p"], top_k=sampling["top_k"], seed=seed,
                stop_seqs=stop_seqs,
                limit=limit, log_dir=str(log_dir or tmp), log_format="json", display="none", score_display=False,
                log_realtime=False,  # nobody watches the run live; the final log is written at the end
            )
        except PrerequisiteError as error:  # Inspect's own "cannot start" (duplicate sample ids in local data...)
            raise PtbError(f"the evaluation cannot start: {error.message.strip()}") from None
        finally:
            if generator is not None:
                generator.close()
    metrics = _metrics(logs, benchmark, judge.max_failure_rate if judge is not None else 0.0)
    metrics.update(
        benchmark=benchmark_id, dataset=benchmark.dataset,
        dataset_revision=None if data is not None else benchmark.revision, data=str(data) if data else None,
        limit=limit, backend=backend, profile=drive.profile, max_connections=drive.max_connections, device=device,
        max_tokens=cap, family=family, family_source=family_source, sampling={**sampling, "seed": seed}, prompting=prompting,
        judge=judge.describe() if (judge is not None and benchmark.judged) else None,
        wall_seconds=round(time.monotonic() - started, 2),
    )
    metrics["provenance"] = provenance(benchmark, chosen)
    if shuffles:  # the option order of this evaluation: drawn, as the original's, unless --choice-seed fixed it
        metrics["choice_seed"] = choice_seed
        metrics["choice_seed_drawn"] = drawn
    if context is not None:
        metrics["max_model_len"] = context
    metrics["tokens_per_second"] = round(metrics["tokens_generated"] / max(metrics["wall_seconds"], 1e-9), 1)
    if generator is not None:  # the hf backend knows how long the GPU was generating
        metrics["generation_seconds"] = round(generator.busy_seconds, 2)
        metrics["generation_batches"] = generator.batches
        metrics["generation_batch_size"] = generator.batch_size
        metrics["generation_cache"] = generator.cache  # static, dynamic or paged (continuous batching)
        metrics["generation_chunks"] = generator.chunks  # batches cut to fit in memory count once per piece
        metrics["generation_fewest_rows"] = generator.fewest_rows
        metrics["generation_oom_splits"] = generator.oom_splits
        metrics["generation_tokens_per_second"] = round(metrics["tokens_generated"] / max(generator.busy_seconds, 1e-9), 1)
    return metrics


def provenance(benchmark: Benchmark, chat_template: ChatTemplate) -> dict[str, Any]:
    """What produced the score besides the model and the data: the chat template's SHA-256, the benchmark's
    scoring semantics and judge prompts, and the versions of the evaluation stack."""
    from importlib.metadata import PackageNotFoundError, version

    from posttrainbench.evaluation.artifacts import sha256_text

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"chat_template_sha256": sha256_text(chat_template.text), **chat_template.describe(), **benchmark.provenance,
            "versions": {name: installed(name) for name in ("inspect-ai", "inspect-evals", "transformers", "vllm")}}


def evaluate_repeated(model_path: Path, benchmark_id: str, repeats: int = 1, seed: int = 0, **options: Any) -> dict[str, Any]:
    """``repeats`` whole evaluations with the seeds ``seed``, ``seed + 1``, ..., as the original's re-run
    script does. The accuracy is their mean and the stderr the standard error of that mean (sample std over
    sqrt(n)); ``repeats`` has the spread and ``runs`` each evaluation's metrics with its per-sample scores."""
    if repeats < 1:
        raise PtbError(f"repeats must be at least 1, got {repeats}")
    runs = [evaluate(model_path, benchmark_id, seed=seed + index, **options) for index in range(repeats)]
    if repeats == 1:
        return runs[0]
    accuracies = [run["accuracy"] for run in runs]
    spread = repeat_spread(accuracies)
    return {
        **{key: value for key, value in runs[0].items() if key != "sample_scores"},
        "accuracy": spread["mean"], "stderr": spread["stderr"],
        "tokens_generated": sum(run["tokens_generated"] for run in runs),
        "wall_seconds": round(sum(run["wall_seconds"] for run in runs), 2),
        "repeats": {"n": repeats, "seeds": [seed + index for index in range(repeats)], "accuracies": accuracies, **spread},
        "runs": runs,
    }


def repeat_spread(values: list[float]) -> dict[str, float | None]:
    """Mean, sample standard deviation (n - 1), standard error of the mean, min and max."""
    from statistics import fmean, stdev

    std = stdev(values) if len(values) > 1 else None
    return {"mean": fmean(values), "std": std, "stderr": std / len(values) ** 0.5 if std is not None else None,
            "min": min(values), "max": max(values)}


def _metrics(logs: list[Any], benchmark: Benchmark, tolerated: float) -> dict[str, Any]:
    if len(logs) != 1:
        raise EvaluationError(f"expected one evaluation log, got {len(logs)}")
    log = logs[0]
    if log.status != "success":
        message = log.error.message if log.error else log.status
        if log.error and log.error.traceback:
            print(log.error.traceback, file=sys.stderr)  # lands in the attempt's log
        raise EvaluationError(f"evaluation {log.status}: {message.strip().splitlines()[-1] if message.strip() else message}")
    if not log.results or len(log.results.scores) != 1:
        raise EvaluationError("evaluation produced no single score")
    values = {name: metric.value for name, metric in log.results.scores[0].metrics.items()}
    if "accuracy" not in values:
        raise EvaluationError(f"scorer reported no accuracy (got {sorted(values)})")
    usage = log.stats.model_usage or {}
    metrics: dict[str, Any] = {
        "accuracy": values["accuracy"], "stderr": values.get("stderr"), "n": log.results.completed_samples,
        "tokens_generated": sum(u.output_tokens for u in usage.values()),
        "sample_scores": _scores_by_sample(log),  # kept so that a report can bootstrap over samples
    }
    if benchmark.judged:
        metrics.update(_judge_counts(log, benchmark, tolerated))
    return metrics


def _scores_by_sample(log: Any) -> dict[str, float]:
    """Each sample's score (its first scorer's value as a number: correct 1, incorrect 0), by sample id."""
    from inspect_ai.scorer import value_to_float

    as_number = value_to_float()
    scores = {}
    for sample in log.samples or []:
        values = list((sample.scores or {}).values())
        if values:
            scores[f"{sample.id}" if sample.epoch == 1 else f"{sample.id}#{sample.epoch}"] = as_number(values[0].value)
    return scores


def _sample_scores(log: Any) -> list[dict[str, Any]]:
    scores = []
    for sample in log.samples or []:
        for score in (sample.scores or {}).values():
            scores.append({"value": score.as_float(), "metadata": score.metadata or {}})
    return scores


def _judge_counts(log: Any, benchmark: Benchmark, tolerated: float) -> dict[str, Any]:
    """Judge calls, failures and usage; fails the evaluation when failures exceed the tolerated rate."""
    scores = _sample_scores(log)
    calls = sum(s["metadata"].get("judge_calls", 0) for s in scores)
    failures = sum(s["metadata"].get("judge_failures", 0) for s in scores)
    usage = total_usage(s["metadata"].get("judge_usage", {}) for s in scores)
    counts: dict[str, Any] = {"judge_calls": calls, "judge_failures": failures, "judge_usage": usage}
    if calls and failures / calls > tolerated:
        raise EvaluationError(f"{failures} of {calls} judge gradings failed (tolerated rate {tolerated})")
    summarize = benchmark.notes.get("summarize")
    if summarize is not None:
        counts.update(summarize(scores))
    return counts
