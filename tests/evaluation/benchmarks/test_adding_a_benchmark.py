"""Adding a benchmark is one module that registers a ``Benchmark``: a toy one, registered here, is found by
the catalog, evaluated by the evaluator and prepared for by the trial, with no other file touched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posttrainbench import registry
from posttrainbench.config import ModelSpec, TrialConfig
from posttrainbench.evaluation.benchmarks import (
    KIND,
    Benchmark,
    Published,
    TaskOptions,
    all_benchmarks,
    get_benchmark,
    ladder,
    memory_dataset,
    register_benchmark,
)
from posttrainbench.evaluation.fewshot import Shot, Shots
from posttrainbench.evaluation.runner import evaluate
from posttrainbench.evaluation.sources import UrlSource
from posttrainbench.trial.paths import RunPaths
from posttrainbench.trial.stages.prepare import build_workspace
from scripted_models import output, scripted

QUESTIONS = [{"question": "2 + 3", "answer": "5"}, {"question": "4 + 4", "answer": "8"}]


def _records(data: Path | None) -> list[dict[str, Any]]:
    assert data is not None, "the toy benchmark has local data only"
    return [json.loads(line) for line in data.read_text().splitlines()]


def _build(data: Path | None, options: TaskOptions) -> Any:
    from inspect_ai import Task
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import match
    from inspect_ai.solver import generate

    def to_sample(record: dict[str, Any]) -> Any:
        return Sample(input=f"What is {record['question']}?", target=record["answer"])

    return Task(name="toyqa", dataset=memory_dataset(_records(data), to_sample, "toyqa"), solver=[generate()], scorer=match())


def _shots(data: Path | None) -> Shots:
    return Shots([Shot("What is 1 + 1?", "2")], "written for the test")


TOY = Benchmark(
    id="toyqa", name="Toy QA", weight=0.0, published=Published(instruct=90.0, base=10.0),
    dataset="two sums, local only", n_test=2, dev_limit=None, max_connections=1, gpu_memory_utilization=0.3,
    ladder=ladder(64, 32, 16), sources={"test": UrlSource("https://example.invalid/toyqa.jsonl", "toyqa.jsonl", "0" * 64)},
    build=_build, shots=_shots, training_note="Any sums but these two may be used for training.",
)


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The toy benchmark registered for one test (the registry is restored after), and its data file."""
    get_benchmark("gsm8k")  # the built-in ones are found first
    monkeypatch.setitem(registry._REGISTRY, KIND, dict(registry._REGISTRY[KIND]))
    register_benchmark(TOY)
    data = tmp_path / "toyqa.jsonl"
    data.write_text("".join(json.dumps(record) + "\n" for record in QUESTIONS))
    yield data


def test_a_registered_benchmark_is_in_the_catalog(toy: Path) -> None:
    assert get_benchmark("toyqa") is TOY
    assert "toyqa" in [b.id for b in all_benchmarks()]
    assert TOY.to_dict()["ladder"][0] == {"max_tokens": 64, "attempts": 4}


def test_the_evaluator_scores_a_registered_benchmark(toy: Path, tiny_model: Path) -> None:
    answers = {"What is 2 + 3?": "5", "What is 4 + 4?": "9"}  # one right, one wrong
    model = scripted(lambda messages: output(answers[messages[-1].text]))
    metrics = evaluate(tiny_model, "toyqa", data=toy, model=model, device="cpu")
    assert metrics["accuracy"] == pytest.approx(0.5) and metrics["n"] == 2 and metrics["max_tokens"] == 64


def test_a_trial_prepares_a_workspace_for_a_registered_benchmark(toy: Path, tmp_path: Path) -> None:
    config = TrialConfig(run_id="r1", agent="copy-base", benchmark="toyqa", hours=1,
                         model=ModelSpec(id="Qwen/Qwen3-1.7B-Base", path="/nonexistent", family="qwen3"))
    paths = RunPaths(tmp_path / "run")
    build_workspace(config, paths)
    assert "Toy QA" in paths.prompt.read_text()
    task = json.loads((paths.workspace / "task.json").read_text())
    assert task["benchmark"] == "toyqa" and task["allowed_training_data"] == TOY.training_note
