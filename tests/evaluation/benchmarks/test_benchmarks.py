"""Each benchmark end to end on fixture data in its real schema, with scripted model outputs whose
correct answers are known, so the expected score is exact; plus the scorers' edge cases."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import ptb
from posttrainbench.errors import PtbError
from posttrainbench.evaluation.benchmarks import TaskOptions, build_task
from posttrainbench.evaluation.benchmarks.bfcl import parse_ground_truth, single_call_matches
from posttrainbench.evaluation.benchmarks.gsm8k import fewshot_records
from posttrainbench.evaluation.runner import evaluate
from scripted_models import gpqa_records, letter_of, output, run, scripted, write_jsonl


# --- GSM8K ---------------------------------------------------------------------------------------------------

def test_gsm8k_scores_the_final_number_and_sends_ten_shots(tiny_model: Path, demo_gsm8k: Path) -> None:
    test = [json.loads(line) for line in (demo_gsm8k / "test.jsonl").read_text().splitlines()]
    answers = {row["question"]: row["answer"].split("####")[-1].strip() for row in test}
    seen_systems = []

    def answer(messages: list[Any]) -> str:
        seen_systems.append(messages[0].text)
        question = next(q for q in answers if q in messages[-1].text)
        # right for the first two questions (one with a trailing period), wrong for the rest
        return {0: f"Reasoning: easy.\nANSWER: {answers[question]}", 1: f"So it is {answers[question]}."}.get(
            list(answers).index(question), "ANSWER: -12345")

    metrics = run(tiny_model, "gsm8k", demo_gsm8k, scripted(answer))
    assert metrics["accuracy"] == pytest.approx(2 / len(test)) and metrics["n"] == len(test)
    assert metrics["dataset_revision"] is None and metrics["data"] == str(demo_gsm8k)
    assert seen_systems[0].count("ANSWER:") == 10
    provenance = metrics["provenance"]  # what produced the score: template, scoring semantics, versions
    assert provenance["scoring"].startswith("inspect-ai 0.3.150") and len(provenance["chat_template_sha256"]) == 64
    assert provenance["versions"]["inspect-ai"] and provenance["versions"]["transformers"]


def test_gsm8k_fewshot_order_is_the_hf_shuffle_with_seed_42() -> None:
    import numpy as np

    train = [{"i": i} for i in range(30)]
    expected = [int(i) for i in np.random.default_rng(42).permutation(30)[:10]]
    assert [r["i"] for r in fewshot_records(train)] == expected


# --- AIME 2025 -----------------------------------------------------------------------------------------------

def test_aime2025_matches_the_last_answer_line_boxed_or_not(tiny_model: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "aime" / "test.jsonl", [
        {"id": i, "problem": f"Problem {i}: compute {i} * 7.", "answer": str(i * 7)} for i in range(1, 5)])
    replies = {1: "Work...\nANSWER: 7", 2: "Thus\nANSWER: \\boxed{14}", 3: "ANSWER: 22", 4: ""}

    def answer(messages: list[Any]) -> str:
        return replies[int(re.search(r"Problem (\d+)", messages[-1].text).group(1))]  # type: ignore[union-attr]

    metrics = run(tiny_model, "aime2025", data, scripted(answer))
    assert metrics["accuracy"] == pytest.approx(0.5) and metrics["n"] == 4


# --- GPQA ----------------------------------------------------------------------------------------------------

def test_gpqa_choice_order_is_drawn_per_evaluation_as_the_original_and_recorded(tiny_model: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "gpqa.jsonl", gpqa_records(8))

    def answer(messages: list[Any]) -> str:
        prompt = messages[-1].text
        i = int(re.search(r"Question (\d+)\?", prompt).group(1))  # type: ignore[union-attr]
        return f"ANSWER: {letter_of(prompt, f'right {i}' if i < 6 else f'wrong {i}a')}"

    metrics = run(tiny_model, "gpqamain", data, scripted(answer))
    assert metrics["accuracy"] == pytest.approx(6 / 8) and metrics["choice_seed_drawn"] is True
    orders = {tuple(s.target for s in build_task("gpqamain", data).dataset) for _ in range(5)}
    assert len(orders) > 1  # unseeded, as the original: a new order each evaluation
    seeded = [sample.target for sample in build_task("gpqamain", data, TaskOptions(choice_seed=metrics["choice_seed"])).dataset]
    assert seeded == [sample.target for sample in build_task("gpqamain", data, TaskOptions(choice_seed=metrics["choice_seed"])).dataset]
    assert len(set(seeded)) > 1  # the correct answer is not always "A"
    fixed = run(tiny_model, "gpqamain", data, scripted(answer), choice_seed=7)  # the named deviation: a fixed order
    assert (fixed["choice_seed"], fixed["choice_seed_drawn"]) == (7, False)


def test_gpqa_data_in_the_wrong_schema_is_one_clear_error(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "bad.jsonl", [{"question": "q", "answer": "a"}])
    with pytest.raises(PtbError, match="lack column"):
        build_task("gpqamain", data)


# --- HumanEval -----------------------------------------------------------------------------------------------

def test_humaneval_runs_real_tests_on_the_real_problems(tiny_model: Path, humaneval_data: Path) -> None:
    problems = [json.loads(line) for line in gzip.open(humaneval_data, "rt")]
    assert len(problems) == 164
    solutions = {p["prompt"]: p["canonical_solution"] for p in problems}
    broken = {problems[1]["prompt"]: "    return None\n", problems[2]["prompt"]: "    while True:\n        pass\n"}

    def answer(messages: list[Any]) -> str:
        prompt = next(p for p in solutions if messages[-1].text.endswith(p))
        return "```python\n" + prompt + broken[prompt] + "```" if prompt in broken else solutions[prompt]

    metrics = run(tiny_model, "humaneval", humaneval_data, scripted(answer), limit=12)
    assert metrics["n"] == 12 and metrics["accuracy"] == pytest.approx(10 / 12)



@pytest.mark.requires_bwrap
def test_a_code_jail_that_cannot_run_the_interpreter_fails_the_evaluation(tiny_model: Path, humaneval_data: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Never a score of 0 for code that could not run: the evaluation fails and says why."""
    import sys

    from posttrainbench.evaluation import code_jail

    interpreter_dir = str(Path(sys.executable).resolve().parent)
    hidden = [*code_jail.jail_arguments(), "--tmpfs", interpreter_dir]  # as if the jail hid the interpreter
    monkeypatch.setattr(code_jail, "jail_arguments", lambda: hidden)
    code_jail.check_interpreter.cache_clear()
    problems = [json.loads(line) for line in gzip.open(humaneval_data, "rt")]
    solutions = {p["prompt"]: p["canonical_solution"] for p in problems}
    try:
        assert code_jail.mode() == "bubblewrap"
        with pytest.raises(PtbError, match="code jail .* cannot run"):
            run(tiny_model, "humaneval", humaneval_data,
                scripted(lambda messages: next(s for p, s in solutions.items() if messages[-1].text.endswith(p))), limit=2)
    finally:
        code_jail.check_interpreter.cache_clear()

# --- BFCL ----------------------------------------------------------------------------------------------------

def test_bfcl_ground_truth_parsing_follows_the_original() -> None:
    assert parse_ground_truth("f(a=1, b=(2, 3), c='x')") == {"name": "f", "arguments": {"a": 1, "b": [2, 3], "c": "x"}}
    assert parse_ground_truth("g(x=1, y=math.pi)") == {"name": "g", "arguments": {"x": 1}}  # not a literal: dropped
    with pytest.raises(PtbError):
        parse_ground_truth("obj.method(a=1)")


def test_bfcl_argument_equality_edge_cases() -> None:
    from inspect_ai.model import ChatMessageUser

    expected = {"name": "f", "arguments": {"n": 20, "p": 0.6}}
    def reply(*calls: dict[str, Any]) -> list[Any]:
        return [ChatMessageUser(content="q"), output("", list(calls)).message]

    assert single_call_matches(reply({"name": "f", "arguments": {"n": 20, "p": 0.6}}), expected)[0]
    assert single_call_matches(reply({"name": "f", "arguments": {"n": 20.0, "p": 0.6}}), expected)[0]  # Python ==
    assert not single_call_matches(reply({"name": "f", "arguments": {"n": "20", "p": 0.6}}), expected)[0]
    assert not single_call_matches(reply({"name": "f", "arguments": {"n": 20, "p": 0.6, "extra": 1}}), expected)[0]
    assert not single_call_matches(reply({"name": "f", "arguments": {"n": 20}}), expected)[0]
    assert not single_call_matches(reply({"name": "g", "arguments": {"n": 20, "p": 0.6}}), expected)[0]
    two = reply({"name": "f", "arguments": {"n": 20, "p": 0.6}}, {"name": "f", "arguments": {"n": 20, "p": 0.6}})
    assert single_call_matches(two, expected) == (False, "2 tool calls")
    assert single_call_matches(reply(), expected) == (False, "0 tool calls")


def test_bfcl_exec_simple_end_to_end_on_the_real_data(tiny_model: Path, bfcl_data: Path) -> None:
    records = [json.loads(line) for line in bfcl_data.read_text().splitlines()]
    truth = {r["question"][0][-1]["content"]: parse_ground_truth(r["ground_truth"][0]) for r in records}
    wrong = set(list(truth)[:3])
    offered: list[int] = []

    def answer(messages: list[Any]) -> Any:
        call = truth[messages[-1].text]
        if messages[-1].text in wrong:
            call = {"name": call["name"], "arguments": {**call["arguments"], "unexpected": True}}
        return output("", [call])

    from inspect_ai.model import get_model

    def respond(messages: list[Any], tools: Any, tool_choice: Any, config: Any) -> Any:
        offered.append(len(tools))
        return answer(messages)

    metrics = run(tiny_model, "bfcl", bfcl_data, get_model("mockllm/model", custom_outputs=respond))
    assert metrics["n"] == 100 and metrics["accuracy"] == pytest.approx(0.97)
    assert min(offered) >= 1  # the record's functions reach the model as tools


# --- the hf backend on a tiny model --------------------------------------------------------------------------

@pytest.mark.requires_hf
def test_hf_backend_runs_humaneval_and_bfcl_on_a_tiny_model(tiny_model: Path, humaneval_data: Path, bfcl_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    proc = ptb("eval", "--model-path", str(tiny_model), "--benchmark", "humaneval", "--data", str(humaneval_data),
               "--limit", "3", "--max-tokens", "8", "--device", "cpu", "--backend", "hf", "--json-output-file", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads(out.read_text())
    assert metrics["n"] == 3 and metrics["backend"] == "hf" and metrics["accuracy"] == 0.0
    assert 0 < metrics["tokens_generated"] <= 3 * 8
    assert metrics["sampling"]["source"] in ("defaults", "generation_config.json")
    bfcl = evaluate(tiny_model, "bfcl", data=bfcl_data, limit=2, max_tokens=4, device="cpu", backend="hf")
    assert bfcl["n"] == 2 and bfcl["accuracy"] == 0.0


def test_fast_profile_queues_two_batches_and_upstream_follows_the_catalog() -> None:
    from posttrainbench.evaluation.benchmarks import get_benchmark
    from posttrainbench.evaluation.backends import drive_settings

    gpu = drive_settings("fast", get_benchmark("gsm8k"), "cuda")
    assert (gpu.max_connections, gpu.batch_size, gpu.hf_cache) == (512, 256, "dynamic")
    assert drive_settings("fast", get_benchmark("gsm8k"), "cpu").hf_cache == "dynamic"
    assert drive_settings("fast", get_benchmark("gsm8k"), "cuda", max_connections=64).batch_size == 64
    upstream = drive_settings("upstream", get_benchmark("healthbench"), "cuda")
    assert (upstream.max_connections, upstream.batch_size, upstream.hf_cache) == (1, 1, "dynamic")
    with pytest.raises(PtbError, match="at least 1"):
        drive_settings("fast", get_benchmark("gsm8k"), "cuda", max_connections=0)


def test_hf_batcher_fills_batches_and_returns_each_prompt_its_own_result(tiny_model: Path) -> None:
    import asyncio

    from posttrainbench.catalog import get_family
    from posttrainbench.evaluation.backends.hf_provider import Generator

    generator = Generator(tiny_model, get_family("qwen3").chat_template(), "cpu", batch_size=4)
    prompts = [" ".join(["hello"] * (i + 1)) for i in range(10)]  # a different length per prompt

    async def submit_all() -> list[tuple[str, int, int]]:
        return await asyncio.gather(*(generator.submit(p, (3, 0.0, None, None, None, ())) for p in prompts))

    results = asyncio.run(submit_all())
    assert generator.batches == 3  # 4 + 4 + 2: a batch starts as soon as it is full
    lengths = [len(generator.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    assert [prompt_tokens for _, prompt_tokens, _ in results] == lengths
    assert all(0 <= new <= 3 for _, _, new in results)


def test_hf_worker_reports_a_model_that_fails_to_load_and_a_dead_process(tmp_path: Path, tiny_model: Path) -> None:
    from posttrainbench.errors import EvaluationError
    from posttrainbench.evaluation.backends.hf_worker import WorkerHandle, WorkerSpec

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    with pytest.raises(EvaluationError, match="hf generation failed"):
        WorkerHandle(WorkerSpec.of(broken, "cpu", 2, "dynamic"))
    worker = WorkerHandle(WorkerSpec.of(tiny_model, "cpu", 2, "dynamic"))
    worker._process.kill()
    worker._process.wait()
    with pytest.raises(EvaluationError, match="generation process died"):
        worker.generate(["hello"], (2, 0.0, None, None, None, ()))


def test_hf_backend_moves_a_think_block_out_of_the_completion_as_the_vllm_provider_does() -> None:
    import asyncio

    from inspect_ai._util.content import ContentReasoning
    from inspect_ai.model import ChatMessageUser, GenerateConfig

    from posttrainbench.evaluation.backends.hf_provider import _api_factory

    class Answers:
        batch_size = 1

        def render(self, messages: list[Any], tools: Any) -> str:
            return "prompt"

        async def submit(self, prompt: str, settings: tuple[Any, ...]) -> tuple[str, int, int]:
            return "<think>12 * 3 is 36, minus 1</think>\n\nANSWER: 35", 1, 20

    api = _api_factory()(model_name="m", generator=Answers())
    output = asyncio.run(api.generate([ChatMessageUser(content="q")], [], None, GenerateConfig(max_tokens=5)))
    assert output.completion == "ANSWER: 35"  # what the scorers read: no reasoning in it
    assert [type(part) for part in output.message.content] == [ContentReasoning, type(output.message.content[1])]
    assert output.message.content[0].reasoning == "12 * 3 is 36, minus 1"
