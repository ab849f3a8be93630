"""Arena-Hard v2.0 Writing: 250 creative-writing prompts, each answer compared by an LLM judge with the
reference answer of Qwen3-1.7B, in two games with the positions swapped.

As the original: the judge gives one of ``[[A>>B]] [[A>B]] [[A=B]] [[B>A]] [[B>>A]]``; a decisive verdict
(``>>``) counts three times; game 1 (reference as A) is turned to the candidate's side; the score is the
mean over all counted entries, the stderr their sample std over the square root of their number. The
answer is cleaned as for HealthBench before judging. Unlike the original, a judgment without a readable
verdict is asked again instead of crashing the evaluation or dropping the question.

The judge's system prompt and user template are the original's words, read from its own files at 9082063
(``evaluation_code/utils/judge_utils.py`` and ``config/arena-hard-v2.0.yaml``, fetched by ``ptb data
fetch``) and checked by SHA-256 before anything is generated.

Data (``--data DIR``, the original's layout): ``question.jsonl`` (``uid``, ``category``, ``prompt``; only
``creative_writing`` is used) and ``model_answer/Qwen3-1.7B.jsonl`` (Arena-Hard answer records). The
judge's two files are taken from ``DIR`` too when they are there, else from the fetched copies.
Samples are in the original's order (``Random(42)``).
The few-shot baseline's shots are two exchanges written for this project (``shots/arenahardwriting.json``).
"""

from __future__ import annotations

import asyncio
import re
import statistics
from pathlib import Path
from typing import Any

from posttrainbench.errors import PtbError
from posttrainbench.evaluation.artifacts import Artifact, python_constant, yaml_value
from posttrainbench.evaluation.benchmarks import Benchmark, Published, TaskOptions, ladder, memory_dataset, register_benchmark
from posttrainbench.evaluation.fewshot import Shots, written_shots
from posttrainbench.evaluation.judge import GradingShape, Judge, JudgeSettings, MessageShape, total_usage
from posttrainbench.evaluation.postprocess import limit_repetitions, strip_think
from posttrainbench.evaluation.sources import UrlSource, fetched_path, load_records, read_file, require_columns, seeded_order

_CODE = "https://raw.githubusercontent.com/aisa-group/PostTrainBench/9082063/src/eval/tasks/arenahardwriting/evaluation_code"
_UPSTREAM = f"{_CODE}/data/arena-hard-v2.0"
BASELINE = "Qwen3-1.7B"
SOURCES = {
    "test": UrlSource(f"{_UPSTREAM}/question.jsonl", "question.jsonl"),
    "baseline": UrlSource(f"{_UPSTREAM}/model_answer/{BASELINE}.jsonl", f"model_answer/{BASELINE}.jsonl"),
    # The judge's words, from the original's own files (never written out here; see ``judge_prompts``).
    "judge_settings": UrlSource(f"{_CODE}/utils/judge_utils.py", "judge_utils.py",
                                "a8e95101cd42522f6e0bf04066fad872dedea1427d7b3240debd80cb5edc7db2"),
    "judge_config": UrlSource(f"{_CODE}/config/arena-hard-v2.0.yaml", "arena-hard-v2.0.yaml",
                              "67bb539cb5b0c4a26c9c3b47ef89bc4e3d2fa22105741f3cd97a12ab5fe833e4"),
}
JUDGE_SYSTEM_SHA256 = "171489efbca7f19fb520e1b3c23783c76af7c723e770fe897a55f391684aa358"
"""``JUDGE_SETTINGS["creative_writing"]["system_prompt"]`` of the original's ``judge_utils.py`` at 9082063."""
JUDGE_USER_SHA256 = "80fb20ab2eaae6d38a19f707f3f051f0456bcb977b0086bebe15f9bd23ce45f8"
"""``prompt_template`` of the original's ``arena-hard-v2.0.yaml`` at 9082063 ({QUESTION}, {ANSWER_A}, {ANSWER_B})."""
CATEGORY = "creative_writing"
ORDER_SEED = 42
DECISIVE_WEIGHT = 3

# Verdict label -> the list of scores it contributes, from assistant A's side (1: A wins, 0: B wins).
VERDICT_SCORES: dict[str, list[float]] = {
    "A>>B": [1.0] * DECISIVE_WEIGHT, "A>B": [1.0], "A=B": [0.5], "B=A": [0.5], "B>A": [0.0], "A<B": [0.0],
    "B>>A": [0.0] * DECISIVE_WEIGHT, "A<<B": [0.0] * DECISIVE_WEIGHT, "B<A": [1.0], "B<<A": [1.0] * DECISIVE_WEIGHT,
}
_PATTERNS = (re.compile(r"\[\[([AB<>=]+)\]\]"), re.compile(r"\[([AB<>=]+)\]"))


def parse_verdict(judgment: str) -> str:
    """The last label of the first pattern that matches; ValueError when none or an unknown label."""
    text = judgment.upper()
    for pattern in _PATTERNS:
        labels = pattern.findall(text)
        if labels:
            if labels[-1] not in VERDICT_SCORES:
                raise ValueError(f"unknown verdict label {labels[-1]!r}")
            return str(labels[-1])
    raise ValueError("no verdict label in the judgment")


def candidate_entries(game1: str, game2: str) -> list[float]:
    """Scores from the candidate's side: game 1 had the reference as A (flipped), game 2 the candidate as A."""
    return [1.0 - s for s in VERDICT_SCORES[game1]] + list(VERDICT_SCORES[game2])


def entries_mean(entries: list[float]) -> float:
    return sum(entries) / len(entries) if entries else 0.0


def entries_stderr(entries: list[float]) -> float:
    return statistics.stdev(entries) / len(entries) ** 0.5 if len(entries) > 1 else 0.0


def answer_text(record: dict[str, Any]) -> str:
    """The assistant text of an Arena-Hard answer record (``content`` is a string or ``{"answer": ...}``)."""
    replies = [m for m in record.get("messages", []) if m.get("role") == "assistant"]
    if not replies:
        raise PtbError(f"answer record {record.get('uid')} has no assistant message")
    content = replies[-1]["content"]
    return str(content.get("answer", "") if isinstance(content, dict) else content)


def judge_file(data: Path | None, source: UrlSource) -> Path:
    """One of the judge's files: beside the local data when it is there, else the fetched copy."""
    if data is not None:
        local = (data if data.is_dir() else data.parent) / source.filename
        if local.is_file():
            return local
    fetched = fetched_path("arenahardwriting", source)
    if not fetched.is_file():
        raise PtbError(f"arenahardwriting needs the original's {source.filename} (the judge's prompts): run "
                       f"`ptb data fetch --benchmark arenahardwriting`, or put it beside the local data")
    return fetched


def judge_prompts(data: Path | None) -> tuple[Artifact, Artifact]:
    """The judge's system prompt and user template, read from the original's files and checked by SHA-256."""
    settings, config = judge_file(data, SOURCES["judge_settings"]), judge_file(data, SOURCES["judge_config"])
    system = Artifact("Arena-Hard creative-writing judge prompt", f"{settings} (JUDGE_SETTINGS, creative_writing)",
                      JUDGE_SYSTEM_SHA256, lambda: python_constant(settings, "JUDGE_SETTINGS", CATEGORY, "system_prompt"))
    user = Artifact("Arena-Hard judge prompt template", f"{config} (prompt_template)", JUDGE_USER_SHA256,
                    lambda: yaml_value(config, "prompt_template"))
    return system, user


def grading_shapes(data: Path | None) -> list[GradingShape]:
    """One game's request: the judge's system prompt exactly, then the user template around the question and answers."""
    system, user = (artifact.text() for artifact in judge_prompts(data))
    head, tail = user.split("{QUESTION}", 1)[0], user.rsplit("{ANSWER_B}", 1)[1]
    return [GradingShape((MessageShape("system", system, exact=True), MessageShape("user", head, tail)))]


def load_questions(data: Path | None) -> list[dict[str, Any]]:
    questions = load_records("arenahardwriting", SOURCES["test"], data, "question")
    require_columns(questions, ("uid", "category", "prompt"), "arenahardwriting questions")
    baseline_source = SOURCES["baseline"]
    if data is None:
        baseline_records = load_records("arenahardwriting", baseline_source, None)
    else:
        root = data if data.is_dir() else data.parent
        if not (root / baseline_source.filename).is_file():
            raise PtbError(f"arenahardwriting data {root} has no {baseline_source.filename} (the reference answers)")
        baseline_records = read_file(root / baseline_source.filename)
    baseline = {record["uid"]: answer_text(record) for record in baseline_records}
    chosen = [q for q in questions if q["category"] == CATEGORY]
    missing = [q["uid"] for q in chosen if q["uid"] not in baseline]
    if missing:
        raise PtbError(f"arenahardwriting: {len(missing)} questions have no {BASELINE} answer (first: {missing[0]})")
    return [{**q, "baseline": baseline[q["uid"]]} for q in seeded_order(chosen, ORDER_SEED)]


def to_sample(record: dict[str, Any]) -> Any:
    from inspect_ai.dataset import Sample

    return Sample(id=record["uid"], input=record["prompt"], metadata={"baseline": record["baseline"], "question": record["prompt"]})


def judge_messages(system: str, template: str, question: str, answer_a: str, answer_b: str) -> list[dict[str, str]]:
    """One game's messages, filled in as the original fills them."""
    user = template.format(QUESTION=question, ANSWER_A=answer_a, ANSWER_B=answer_b)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


async def judge_pair(judge: Judge, prompts: tuple[str, str], question: str, reference: str,
                     candidate: str) -> tuple[list[str] | None, dict[str, int]]:
    """Verdicts of game 1 (reference as A) and game 2 (candidate as A); None if a tolerated judgment failed."""

    def game(answer_a: str, answer_b: str) -> Any:
        messages = judge_messages(*prompts, question, answer_a, answer_b)
        return judge.ask_or_skip(messages, parse_verdict, reasoning_effort="medium")

    games = await asyncio.gather(game(reference, candidate), game(candidate, reference))
    verdicts = [verdict for verdict, _ in games]
    usage = total_usage(usage for _, usage in games)
    return (None if None in verdicts else verdicts), usage


def build(data: Path | None, options: TaskOptions) -> Any:
    from inspect_ai import Task
    from inspect_ai.scorer import Score, scorer

    from posttrainbench.evaluation.sample_metrics import sample_metric
    from inspect_ai.solver import generate

    settings = options.judge or JudgeSettings()
    settings.api_key()  # fail before generating anything
    judge = Judge(settings)
    system, template = judge_prompts(data)
    prompts = (system.text(), template.text())  # verified before anything is generated

    def all_entries(scores: list[Any]) -> list[float]:
        return [entry for s in scores for entry in (s.score.metadata or {}).get("entries", [])]

    @scorer(metrics=[
        sample_metric("accuracy", lambda scores: entries_mean(all_entries(scores))),
        sample_metric("stderr", lambda scores: entries_stderr(all_entries(scores))),
    ])
    def pairwise_judge() -> Any:
        async def score(state: Any, target: Any) -> Any:
            answer = limit_repetitions(strip_think(state.output.completion))
            verdicts, usage = await judge_pair(judge, prompts, state.metadata["question"], state.metadata["baseline"], answer)
            if verdicts is None:  # a tolerated failure: the question is dropped, as the original drops it
                return Score(value=0.0, answer=answer, metadata={"entries": [], "judge_calls": 2, "judge_failures": 2})
            entries = candidate_entries(*verdicts)
            return Score(value=entries_mean(entries), answer=answer, metadata={
                "verdicts": verdicts, "entries": entries, "judge_calls": 2, "judge_failures": 0, "judge_usage": usage})

        return score

    dataset = memory_dataset(load_questions(data), to_sample, "arenahardwriting")
    return Task(name="arenahardwriting", dataset=dataset, solver=generate(), scorer=pairwise_judge())


def shots(data: Path | None) -> Shots:
    return written_shots("arenahardwriting")


register_benchmark(Benchmark(
    id="arenahardwriting",
    name="Arena-Hard-v2.0 (Writing)",
    weight=0.0903518275042778,
    published=Published(instruct=70.2, base=1.3),
    dataset="Arena-Hard v2.0 creative_writing questions (250) with Qwen3-1.7B reference answers",
    n_test=250,
    dev_limit=32,
    max_connections=1,
    gpu_memory_utilization=0.9,
    ladder=ladder(16384, 12288, 8192),
    sources=SOURCES, build=build, shots=shots, judged=True, grading_shapes=grading_shapes,
    provenance={"judge_prompts": {"system": {"source": SOURCES["judge_settings"].url, "sha256": JUDGE_SYSTEM_SHA256},
                                  "user": {"source": SOURCES["judge_config"].url, "sha256": JUDGE_USER_SHA256}}},
))
