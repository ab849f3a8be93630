from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import ptb
from posttrainbench import api
from posttrainbench.config import EvalOverrides


def test_ptb_eval_gsm8k_on_a_tiny_model(tiny_model: Path, demo_gsm8k: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    proc = ptb("eval", "--model-path", str(tiny_model), "--benchmark", "gsm8k", "--limit", "3", "--max-tokens", "8",
               "--data", str(demo_gsm8k), "--device", "cpu", "--json-output-file", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads(out.read_text())
    assert metrics["n"] == 3 and metrics["max_tokens"] == 8 and metrics["benchmark"] == "gsm8k"
    assert 0.0 <= metrics["accuracy"] <= 1.0 and metrics["family_source"] == "config.json"
    assert metrics["tokens_generated"] > 0
    assert json.loads(proc.stdout) == metrics


def test_eval_refuses_data_without_train_split(tiny_model: Path, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "test.jsonl").write_text('{"question": "1+1?", "answer": "#### 2"}\n')
    proc = ptb("eval", "--model-path", str(tiny_model), "--benchmark", "gsm8k", "--data", str(tmp_path / "d"), "--device", "cpu")
    assert proc.returncode == 2 and "no train file" in proc.stderr


def test_a_failed_evaluation_says_why_on_its_one_line(tiny_model: Path, demo_gsm8k: Path, tmp_path: Path) -> None:
    """The cause (here: the generation process cannot load the weights) travels from the evaluation process
    to the trial's error, instead of the log's last, blank, line."""
    import shutil

    import pytest

    from posttrainbench import api
    from posttrainbench.config import EvalOverrides
    from posttrainbench.errors import StageError
    from posttrainbench.trial.stages.evaluate import run_ladder
    from posttrainbench.trial.paths import RunPaths

    config = api.make_config(agent="copy-base", model=str(tiny_model), family="qwen3", benchmark="gsm8k", hours=1, sandbox="none",
                             device="cpu", evaluation=EvalOverrides(limit=1, max_tokens=[8], data=str(demo_gsm8k)))
    paths = RunPaths(tmp_path / "run")
    shutil.copytree(tiny_model, paths.final_model)
    (paths.final_model / "model.safetensors").write_text("not weights")
    with pytest.raises(StageError) as failed:
        run_ladder(config, paths)
    message = str(failed.value)
    assert "all 1 evaluation attempts failed; last: hf generation failed: " in message and "SafetensorError" in message
    assert "\n" not in message


def test_the_failure_reason_is_the_evaluators_error_line(tmp_path: Path) -> None:
    from posttrainbench.trial.stages.evaluate import failure_reason
    from posttrainbench.trial.paths import RunPaths

    paths = RunPaths(tmp_path)
    log = tmp_path / "attempt-1.log"
    attempt = {"attempt": 1, "exit_code": 1, "seconds": 3.0, "log": log.name}
    log.write_text("Traceback (most recent call last):\n  ...\nValueError: boom\n\nptb: error: evaluation error: boom\n\n")
    assert failure_reason(attempt, paths) == "evaluation error: boom"
    log.write_text("Traceback (most recent call last):\nRuntimeError: a bug\n\n")  # a crash: no error line of ptb's
    assert failure_reason(attempt, paths) == "RuntimeError: a bug"
    log.write_text("")
    assert failure_reason(attempt, paths) == "the evaluator exited with code 1 and no output"
    assert failure_reason({**attempt, "exit_code": None}, paths) == "timed out after 3s"


def test_quickstart_trains_and_says_where_its_results_are(tmp_path: Path) -> None:
    directory = tmp_path / "quick start"  # a space: the printed commands must still work when pasted
    proc = ptb("quickstart", "--dir", str(directory), "--sandbox", "none", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the reference agent trained the tiny model: its loss fell, the score moved, and the audit found nothing
    [scores] = [line for line in proc.stdout.splitlines() if line.startswith("score before training: ")]
    before, after = (float(part.split(": ")[1]) for part in scores.split("; "))
    assert after > before, scores
    [result] = (directory / "results").glob("*/result.json")
    log = (result.parent / "agent" / "output.log").read_text()
    first, last = (float(x) for x in log.split("[reference] training loss ", 1)[1].split(" over")[0].split(" -> "))
    assert last < first / 2, (first, last)
    assert {v["check"]: v["status"] for v in json.loads(result.read_text())["audit"]["verdicts"]} == dict.fromkeys(
        ("contamination", "disallowed_model", "tampering", "api_misuse"), "clean")
    results = directory / "results"
    lines = proc.stdout.splitlines()
    assert f"results:     {results}" in lines and f"HTML report: {results / 'report' / 'index.html'}  (open it in a browser, from disk)" in lines
    commands = [line.strip() for line in lines[lines.index("look at them with:") + 1:] if line.strip()]
    assert [command.split(" --results ", 1)[1] for command in commands] == [f"'{results}'"] * 2 + [f"'{results}' --format html"]
    for command in commands:  # pasted into a shell as printed: works without an activated virtual environment
        pasted = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
        assert pasted.returncode == 0, (command, pasted.stderr[-1000:])
    assert (results / "report" / "index.html").is_file() and len(list((results / "report" / "runs").glob("*.html"))) == 1
    run_dir = next(line.split(maxsplit=1)[1] for line in lines if line.startswith("run:"))
    assert Path(run_dir).parent == results and (Path(run_dir) / "result.json").is_file()  # whole, never wrapped mid-name
    status = ptb("status", "--results", str(results))
    assert Path(run_dir).name in status.stdout


def test_repeated_evaluation_reports_the_mean_and_its_spread(tiny_model: Path, demo_gsm8k: Path) -> None:
    """--repeats: whole evaluations with consecutive seeds, as the original's re-run script; per-sample scores kept."""
    from test_benchmarks import output

    from posttrainbench.trial.stages.evaluate import eval_settings
    from posttrainbench.evaluation.runner import evaluate_repeated

    test = [json.loads(line) for line in (demo_gsm8k / "test.jsonl").read_text().splitlines()][:2]
    answers = {row["question"]: row["answer"].split("####")[-1].strip() for row in test}

    def respond(messages, tools, tool_choice, config):  # type: ignore[no-untyped-def]
        question = next(q for q in answers if q in messages[-1].text)
        return output(f"ANSWER: {answers[question]}" if config.seed % 2 == 0 else "ANSWER: -1")  # right with even seeds

    from inspect_ai.model import get_model

    model = get_model("mockllm/model", custom_outputs=respond)
    metrics = evaluate_repeated(tiny_model, "gsm8k", repeats=3, seed=4, data=demo_gsm8k, model=model, device="cpu", limit=2)
    assert metrics["repeats"]["seeds"] == [4, 5, 6] and metrics["repeats"]["accuracies"] == [1.0, 0.0, 1.0]
    assert metrics["accuracy"] == pytest.approx(2 / 3) and metrics["repeats"]["std"] == pytest.approx(0.57735, abs=1e-4)
    assert metrics["stderr"] == pytest.approx(0.57735 / 3 ** 0.5, abs=1e-4) and metrics["repeats"]["min"] == 0.0
    assert [run["sampling"]["seed"] for run in metrics["runs"]] == [4, 5, 6]
    assert [sorted(run["sample_scores"].values()) for run in metrics["runs"]] == [[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]]
    single = evaluate_repeated(tiny_model, "gsm8k", repeats=1, data=demo_gsm8k, model=model, device="cpu", limit=2)
    assert "repeats" not in single and len(single["sample_scores"]) == 2
    config = api.make_config(agent="copy-base", model=str(tiny_model), family="qwen3", benchmark="gsm8k", hours=1,
                             sandbox="none", device="cpu", evaluation=EvalOverrides(repeats=3))
    settings = eval_settings(config, tiny_model, 64)
    assert (settings.repeats, settings.max_tokens, settings.family, settings.limit) == (3, 64, "qwen3", None)
    assert settings.chat_template == "project"  # the source resolved when the trial runs (PTB_CHAT_TEMPLATE here)
    assert settings.choice_seed is None  # drawn, as the original
    fixed = config.model_copy(update={"evaluation": EvalOverrides(choice_seed=7, chat_template="upstream", judge_model="j")})
    fixed_settings = eval_settings(fixed, tiny_model, 64)
    assert (fixed_settings.choice_seed, fixed_settings.chat_template, fixed_settings.judge.model) == (7, "upstream", "j")
