"""Arena-Hard v2.0 Writing: 250 creative-writing prompts, each answer compared by an LLM judge with the
reference answer of Qwen3-1.7B, in two games with the positions swapped.

As the original: the judge gives one of ``[[A>>B]] [[A>B]] [[A=B]] [[B>A]] [[B>>A]]``; a decisive verdict
(``>>``) counts three times; game 1 (reference as A) is turned to the candidate's side; the score is the
mean over all counted entries, the stderr their sample std over the square root of their number. The
answer is cleaned as for HealthBench before judging. Unlike the original, a judgment without a readable
verdict is asked again instead of crashing the evaluation or dropping the question.

Data (``--data DIR``, the original's layout): ``question.jsonl`` (``uid``, ``category``, ``prompt``; only
``creative_writing`` is used) and ``model_answer/Qwen3-1.7B.jsonl`` (Arena-Hard answer records).
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
from posttrainbench.evaluation.benchmarks import BenchmarkTask, TaskOptions, memory_dataset, register_task
from posttrainbench.evaluation.fewshot import Shots, written_shots
from posttrainbench.evaluation.judge import Judge, JudgeSettings, total_usage
from posttrainbench.evaluation.postprocess import limit_repetitions, strip_think
from posttrainbench.evaluation.sources import UrlSource, load_records, read_file, require_columns, seeded_order

_UPSTREAM = "https://raw.githubusercontent.com/aisa-group/PostTrainBench/9082063/src/eval/tasks/arenahardwriting/evaluation_code/data/arena-hard-v2.0"
BASELINE = "Qwen3-1.7B"
SOURCES = {
    "test": UrlSource(f"{_UPSTREAM}/question.jsonl", "question.jsonl"),
    "baseline": UrlSource(f"{_UPSTREAM}/model_answer/{BASELINE}.jsonl", f"model_answer/{BASELINE}.jsonl"),
}
CATEGORY = "creative_writing"
ORDER_SEED = 42
DECISIVE_WEIGHT = 3

JUDGE_SYSTEM = """You are an impartial judge of creative writing. You will see a user's request and the replies of two \
assistants, A and B. Decide which reply serves the request better.

Weigh, in this order of importance: whether each reply is correct and does what was asked; how helpful and \
relevant it is; whether it is concise rather than padded; its creativity and originality where the request \
calls for them; and anything important that a reply leaves out. Where a request is ambiguous, a reply that \
asks for clarification or states a reasonable reading is better than one that guesses silently.

Do not let the order of the replies, their length or the assistants' names sway you. Explain your reasoning \
briefly, then end with exactly one verdict label:
[[A>>B]]: A is much better
[[A>B]]: A is somewhat better
[[A=B]]: about the same
[[B>A]]: B is somewhat better
[[B>>A]]: B is much better"""

JUDGE_USER = """<|User Prompt|>
{question}

<|The Start of Assistant A's Answer|>
{answer_a}
<|The End of Assistant A's Answer|>

<|The Start of Assistant B's Answer|>
{answer_b}
<|The End of Assistant B's Answer|>"""

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


async def judge_pair(judge: Judge, question: str, reference: str, candidate: str) -> tuple[list[str] | None, dict[str, int]]:
    """Verdicts of game 1 (reference as A) and game 2 (candidate as A); None if a tolerated judgment failed."""

    def game(answer_a: str, answer_b: str) -> Any:
        user = JUDGE_USER.format(question=question, answer_a=answer_a, answer_b=answer_b)
        messages = [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]
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

    def all_entries(scores: list[Any]) -> list[float]:
        return [entry for s in scores for entry in (s.score.metadata or {}).get("entries", [])]

    @scorer(metrics=[
        sample_metric("accuracy", lambda scores: entries_mean(all_entries(scores))),
        sample_metric("stderr", lambda scores: entries_stderr(all_entries(scores))),
    ])
    def pairwise_judge() -> Any:
        async def score(state: Any, target: Any) -> Any:
            answer = limit_repetitions(strip_think(state.output.completion))
            verdicts, usage = await judge_pair(judge, state.metadata["question"], state.metadata["baseline"], answer)
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


register_task(BenchmarkTask("arenahardwriting", SOURCES, build, shots, judged=True))
