"""The few-shot baseline: plain-text prompts, the shots each benchmark draws and where from, the fixed
sampling, stopping at the next user turn on the real ``hf`` backend, and ``ptb baseline --few-shot``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import TESTS, ptb
from posttrainbench.evaluation.benchmarks import get_benchmark
from posttrainbench.evaluation.fewshot import plain_template
from posttrainbench.results import index
from scripted_models import gpqa_records, letter_of, output, run, scripted, write_jsonl


def exchange(messages: list[Any]) -> tuple[list[tuple[Any, Any]], Any]:
    """The shots before the sample's last user turn, as (user, assistant) pairs, and that turn."""
    *shots, last = messages
    assert last.role == "user" and len(shots) % 2 == 0
    assert [m.role for m in shots] == ["user", "assistant"] * (len(shots) // 2)
    return list(zip(shots[::2], shots[1::2], strict=True)), last


def few_shot(tiny_model: Path, benchmark: str, data: Path, answer: Any) -> tuple[dict[str, Any], list[list[Any]]]:
    seen: list[list[Any]] = []

    def respond(messages: list[Any]) -> Any:
        seen.append(list(messages))
        return answer(messages)

    metrics = run(tiny_model, benchmark, data, scripted(respond), few_shot=True)
    assert metrics["sampling"]["temperature"] == 0.6 and metrics["sampling"]["top_p"] == 0.95
    assert metrics["prompting"]["format"] == "few-shot plain text"
    return metrics, seen


def test_plain_template_has_no_special_tokens_and_ends_with_the_assistant_turn(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q1?"},
                {"role": "assistant", "content": "A1."}, {"role": "user", "content": [{"type": "text", "text": "Q2?"}]}]
    text = tokenizer.apply_chat_template(messages, chat_template=plain_template(), add_generation_prompt=True, tokenize=False)
    assert text == "Be brief.\n\nUser: Q1?\n\nAssistant: A1.\n\nUser: Q2?\n\nAssistant:"
    tokenizer.bos_token = "<|endoftext|>"  # a tokenizer with a start-of-text token (Gemma's <bos>) gets it first
    assert tokenizer.apply_chat_template(messages[1:2], chat_template=plain_template(), tokenize=False).startswith("<|endoftext|>User: Q1?")


def test_gsm8k_few_shot_sends_the_ten_train_problems_as_exchanges(tiny_model: Path, demo_gsm8k: Path) -> None:
    test = [json.loads(line) for line in (demo_gsm8k / "test.jsonl").read_text().splitlines()]
    answers = {row["question"]: row["answer"].split("####")[-1].strip() for row in test}

    def answer(messages: list[Any]) -> str:
        question = next(q for q in answers if q in messages[-1].text)
        return f"Work.\nANSWER: {answers[question]}" if list(answers).index(question) < 3 else "ANSWER: -1"

    metrics, seen = few_shot(tiny_model, "gsm8k", demo_gsm8k, answer)
    assert metrics["accuracy"] == pytest.approx(3 / len(test))
    assert metrics["prompting"]["shots"] == 10 and str(demo_gsm8k) in metrics["prompting"]["shot_source"]
    shots, last = exchange(seen[0])  # no system message: the shots are turns, not a preamble
    assert len(shots) == 10 and last.text.rstrip().endswith("Reasoning:")
    for user, assistant in shots:
        assert user.text.rstrip().endswith("Reasoning:") and user.text.split("\n")[0] == last.text.split("\n")[0]
        assert re.search(r"\nANSWER: -?\d+$", assistant.text)
        assert user.text not in {m.text for m in seen[0][-1:]}  # no shot is the question asked


def test_aime2025_shots_are_aime_2024_problems_with_their_solutions(tiny_model: Path, tmp_path: Path) -> None:
    data = tmp_path / "aime"
    write_jsonl(data / "test.jsonl", [{"id": i, "problem": f"Problem {i}: compute {i} * 7.", "answer": str(i * 7)} for i in range(1, 4)])
    write_jsonl(data / "fewshot.jsonl", [{"ID": f"2024-I-{i}", "Problem": f"Old problem {i}.", "Solution": f"Solution {i}.", "Answer": i}
                                         for i in range(1, 16)])

    def answer(messages: list[Any]) -> str:
        number = int(re.search(r"Problem (\d+):", messages[-1].text).group(1))  # type: ignore[union-attr]
        return f"ANSWER: {7 * number}"

    metrics, seen = few_shot(tiny_model, "aime2025", data, answer)
    assert metrics["accuracy"] == 1.0 and metrics["prompting"]["shots"] == 3
    shots, last = exchange(seen[0])
    for user, assistant in shots:
        number = int(re.search(r"Old problem (\d+)\.", user.text).group(1))  # type: ignore[union-attr]
        assert assistant.text == f"Solution {number}.\n\nANSWER: {number}"
        assert user.text.replace(f"Old problem {number}.", "X") == re.sub(r"Problem \d+: compute \d+ \* 7\.", "X", last.text)
    # the same three shots for every sample and every run
    assert all([m.text for m in s[:-1]] == [m.text for m in seen[0][:-1]] for s in seen)


def test_gpqa_shots_come_from_the_extended_set_minus_the_main_set(tiny_model: Path, tmp_path: Path) -> None:
    data = tmp_path / "gpqa"
    main = gpqa_records(6)
    extended = [{**r, "Explanation": f"Because {r['Correct Answer']}."} for r in gpqa_records(12)]  # rec0..5 are main's
    write_jsonl(data / "train.jsonl", main)
    write_jsonl(data / "fewshot.jsonl", extended)

    def answer(messages: list[Any]) -> str:
        prompt = messages[-1].text
        number = re.search(r"Question (\d+)\?", prompt).group(1)  # type: ignore[union-attr]
        return f"ANSWER: {letter_of(prompt, f'right {number}')}"

    metrics, seen = few_shot(tiny_model, "gpqamain", data, answer)
    assert metrics["accuracy"] == 1.0 and metrics["prompting"]["shots"] == 3
    shots, last = exchange(seen[0])
    for user, assistant in shots:
        number = int(re.search(r"Question (\d+)\?", user.text).group(1))  # type: ignore[union-attr]
        assert number >= 6  # never a question of the main set
        letter = letter_of(user.text, f"right {number}")
        assert assistant.text == f"Because right {number}.\n\nANSWER: {letter}"
        assert user.text.split("\n")[0] == last.text.split("\n")[0]  # Inspect's multiple-choice wording


def test_bfcl_few_shot_lists_the_tools_in_the_user_turn_and_scores_as_before(tiny_model: Path, bfcl_data: Path) -> None:
    records = [json.loads(line) for line in bfcl_data.read_text().splitlines()][:4]
    data = write_jsonl(bfcl_data.parent / "four.jsonl", records)
    from posttrainbench.evaluation.benchmarks.bfcl import parse_ground_truth

    truth = {r["question"][0][-1]["content"]: parse_ground_truth(r["ground_truth"][0]) for r in records}

    def answer(messages: list[Any]) -> Any:
        request = next(q for q in truth if messages[-1].text.endswith(q))
        return output(tool_calls=[truth[request]]) if list(truth).index(request) < 2 else output("no idea")

    metrics, seen = few_shot(tiny_model, "bfcl", data, answer)
    assert metrics["accuracy"] == pytest.approx(0.5)  # the shots' assistant turns are not counted as replies
    shots, last = exchange(seen[0])
    assert len(shots) == 2 and last.text.startswith("Functions you can call")
    name = json.loads(last.text.split("\n")[1])["name"]
    assert name in {f["name"] for r in records for f in r["function"]}
    for user, assistant in shots:
        assert user.text.startswith("Functions you can call")
        call = json.loads(re.fullmatch(r"<tool_call>\n(.*)\n</tool_call>", assistant.text).group(1))  # type: ignore[union-attr]
        assert call["name"] == json.loads(user.text.split("\n")[1])["name"]


def test_healthbench_shots_precede_the_conversation_and_the_judge_never_sees_them(
        tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fake_openai import FakeOpenAI
    from test_judged_benchmarks import HEALTH, KEY, grade_by_marker, judge_settings

    monkeypatch.setenv("JUDGE_KEY", KEY)
    data = write_jsonl(tmp_path / "hb.jsonl", [HEALTH[0], HEALTH[2]])
    seen: list[list[Any]] = []
    with FakeOpenAI(grade_by_marker, api_key=KEY) as server:
        metrics = run(tiny_model, "healthbench", data, scripted(lambda m: seen.append(list(m)) or "Rest and fluids."),
                      judge=judge_settings(server), few_shot=True)
    assert metrics["accuracy"] == pytest.approx(0.9)  # as in the zero-shot test: the shots change no grading
    shots = get_benchmark("healthbench").shots(None).items
    for messages in seen:
        assert [m.text for m in messages[:4]] == [t for s in shots for t in (s.user, s.assistant)]
        assert [m.role for m in messages[4:]] == ["user", "assistant", "user", "assistant", "user"]
    graded = "".join(json.dumps(r["messages"]) for r in server.requests)
    assert "fever turn 0" in graded and not any(s.user[:40] in graded for s in shots)


def test_written_humaneval_shots_pass_their_own_doctests(tmp_path: Path) -> None:
    from posttrainbench.evaluation.benchmarks.humaneval import _upstream

    shots = get_benchmark("humaneval").shots(None)
    assert len(shots.items) == 2 and "written for posttrainbench" in shots.source
    for shot in shots.items:
        prompt = shot.user.removeprefix(_upstream().INSTRUCTION)
        assert prompt != shot.user  # worded as HumanEval's samples are
        program = prompt + _upstream().find_code(shot.assistant) + "\nimport doctest, sys\nsys.exit(doctest.testmod().failed or 0)\n"
        proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_written_shots_of_every_benchmark_without_a_split_load(humaneval_data: Path) -> None:
    names = {json.loads(line)["entry_point"] for line in __import__("gzip").open(humaneval_data, "rt")}
    for shot in get_benchmark("humaneval").shots(None).items:
        assert re.search(r"def (\w+)\(", shot.user).group(1) not in names  # type: ignore[union-attr]
    for benchmark in ("bfcl", "healthbench", "arenahardwriting"):
        shots = get_benchmark(benchmark).shots(None)
        assert len(shots.items) == 2 and all(s.user.strip() and s.assistant.strip() for s in shots.items), benchmark
    for item in json.loads((TESTS.parent / "src/posttrainbench/evaluation/benchmarks/shots/bfcl.json").read_text())["shots"]:
        (tool,) = item["tools"]
        assert item["call"]["name"] == tool["name"] and set(tool["parameters"]["required"]) <= set(item["call"]["arguments"])


def test_hf_backend_stops_at_a_stop_sequence(tiny_model: Path) -> None:
    from posttrainbench.evaluation.backends.hf_worker import WorkerHandle, WorkerSpec, cut_at_stop

    assert cut_at_stop("42\nUser: next", ("\nUser:",)) == "42" and cut_at_stop("42", ("\nUser:",)) == "42"
    worker = WorkerHandle(WorkerSpec.of(tiny_model, "cpu", 2, "dynamic"))
    try:
        prompts = ["The colour of the sky is", "Two plus three equals"]
        [(full, _, n_full), _], _ = worker.generate(prompts, (30, 0.0, None, None, None, ()))
        assert n_full == 30
        stop = full[10:14]
        [(cut, _, n_cut), _], _ = worker.generate(prompts, (30, 0.0, None, None, None, (stop,)))
        assert n_cut < n_full and cut == full[:full.index(stop)]  # the answer ends where the stop sequence begins
        unmatched, _ = worker.generate(prompts, (30, 0.0, None, None, None, ("\u2603never\u2603",)))
        assert unmatched[0][0] == full and unmatched[0][2] == n_full
    finally:
        worker.stop()


def test_ptb_baseline_few_shot_stores_a_reference_row(tiny_model: Path, demo_gsm8k: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    proc = ptb("baseline", "--models", str(tiny_model), "--family", "qwen3", "--few-shot", "--benchmarks", "gsm8k", "--limit", "2",
               "--max-tokens", "8", "--data", str(demo_gsm8k), "--device", "cpu", "--backend", "hf", "--results", str(results))
    assert proc.returncode == 0, proc.stderr[-2000:]
    (stored,) = index.load_baselines(results)
    assert (stored.model, stored.kind) == (tiny_model.name, "base_few_shot") and "shots=10" in stored.source
    metrics = json.loads(next((results / "baselines").glob("*base_few_shot.json")).read_text())
    assert metrics["prompting"]["shots"] == 10 and metrics["sampling"]["temperature"] == 0.6 and metrics["backend"] == "hf"
    rows = {row["name"]: row for row in json.loads(ptb("report", "--results", str(results), "--format", "json").stdout)}
    assert rows["Base models, few-shot (baseline)"]["benchmarks"]["gsm8k"] == pytest.approx(stored.score)
    instruct = ptb("baseline", "--models", "Qwen/Qwen3-1.7B", "--few-shot", "--results", str(results))
    assert instruct.returncode == 2 and "evaluates base models" in instruct.stderr
    clash = ptb("baseline", "--models", str(tiny_model), "--few-shot", "--kind", "instruct", "--results", str(results))
    assert clash.returncode == 2 and "cannot be combined with --kind instruct" in clash.stderr
