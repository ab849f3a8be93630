import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from posttrainbench.config import ModelSpec, TrialConfig
from posttrainbench.errors import PtbError
from posttrainbench.trial.paths import RunPaths
from posttrainbench.trial.stages.prepare import build_workspace, render_prompt, write_deadline


def make_config(**overrides: object) -> TrialConfig:
    values: dict[str, object] = dict(
        run_id="r1", agent="copy-base", benchmark="gsm8k", hours=10,
        model=ModelSpec(id="Qwen/Qwen3-1.7B-Base", path="/nonexistent", family="qwen3"),
    )
    values.update(overrides)
    return TrialConfig(**values)  # type: ignore[arg-type]


def test_workspace_contents_and_manifest(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path / "run")
    manifest, missing_check = build_workspace(make_config(), paths)
    ws = paths.workspace
    assert set(manifest) == {"evaluate.py", "timer.sh", "prompt.txt", "task.json",
                             "templates/qwen3.jinja", "templates/smollm3.jinja", "templates/gemma3.jinja"}
    for relative, digest in manifest.items():
        assert hashlib.sha256((ws / relative).read_bytes()).hexdigest() == digest
    assert json.loads(paths.manifest.read_text()) == manifest
    assert os.access(ws / "timer.sh", os.X_OK) and os.access(ws / "evaluate.py", os.X_OK)
    assert json.loads((ws / "task.json").read_text())["benchmark"] == "gsm8k"
    assert paths.prompt.read_text() == (ws / "prompt.txt").read_text()


def test_prompt_covers_objective_rules_and_placeholders() -> None:
    text = render_prompt(make_config(hours=3))
    assert "Qwen/Qwen3-1.7B-Base" in text and "GSM8K (Grade School Math 8K)" in text
    assert "3 hours" in text and "final_model" in text and "timer.sh" in text
    assert "one NVIDIA GPU" in text
    assert all(f"{n}." in text for n in range(1, 9))  # the eight rules
    # The rules the original added later: item-targeted data counts as test data; no hosted LLMs on found keys.
    assert "word for word" in text and "seeded with test items" in text and "written by hand" in text
    assert "API keys or credentials you find" in text


def test_the_built_in_prompt_ends_with_the_agents_own_note() -> None:
    claude = render_prompt(make_config(agent="claude-code"))
    assert claude.rstrip().endswith("before you write your final message.")  # headless: no job outlives it
    assert "final message" not in render_prompt(make_config(agent="copy-base"))
    assert "final message" not in render_prompt(make_config(agent="claude-code", prompt_template="{model}"))


def test_custom_prompt_template() -> None:
    config = make_config(prompt_template="Train {model} for {benchmark} in {num_hours}h. {gpu_info}", device="cpu", hours=0.5)
    assert render_prompt(config) == "Train Qwen/Qwen3-1.7B-Base for GSM8K (Grade School Math 8K) in 0.5h. This machine has no GPU; all work runs on the CPU."
    with pytest.raises(PtbError, match="unknown placeholder"):
        render_prompt(make_config(prompt_template="{model} {dataset}"))


def test_evaluate_launcher_calls_the_installed_evaluator(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path / "run")
    build_workspace(make_config(), paths)
    out = subprocess.run([str(paths.workspace / "evaluate.py"), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "--model-path" in out.stdout and "--limit" in out.stdout


def _timer(ws: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(ws / "timer.sh")], capture_output=True, text=True, cwd=cwd)


def test_timer_counts_down_and_expires(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path / "run")
    build_workspace(make_config(), paths)
    ws = paths.workspace
    not_started = _timer(ws, ws)
    assert not_started.returncode == 1 and "not started" in not_started.stdout
    write_deadline(paths, time.time() + 2 * 3600 + 5 * 60 + 30)
    assert _timer(ws, tmp_path).stdout.splitlines()[-1] == "2:05"  # works from another directory too
    write_deadline(paths, time.time() + 59 * 60 + 30)
    assert _timer(ws, ws).stdout.splitlines()[-1] == "0:59"
    write_deadline(paths, time.time() - 1)
    assert "expired" in _timer(ws, ws).stdout


def test_the_workspace_gets_a_data_check_that_never_shows_the_test_set(demo_gsm8k: Path, tmp_path: Path) -> None:
    from posttrainbench.config import EvalOverrides

    paths = RunPaths(tmp_path / "run")
    manifest, missing_check = build_workspace(make_config(evaluation=EvalOverrides(data=str(demo_gsm8k))), paths)
    ws = paths.workspace
    assert missing_check is None and {"check_contamination.py", ".ptb/test_ngrams.npz"} <= set(manifest)
    assert "python check_contamination.py PATH" in paths.prompt.read_text()
    questions = [json.loads(line)["question"] for line in (demo_gsm8k / "test.jsonl").read_text().splitlines()]
    with np.load(ws / ".ptb" / "test_ngrams.npz") as saved:  # hashes and numbers only: no text at all
        assert {name: saved[name].dtype.kind for name in saved.files} == {
            "keys": "u", "unit_keys": "i", "unit_of": "i", "unit_item": "i", "unit_sizes": "i"}
    (ws / "mine.jsonl").write_text(json.dumps({"text": "nothing to see"}) + "\n" + json.dumps({"text": questions[2]}) + "\n")
    (ws / "clean.jsonl").write_text((demo_gsm8k / "train.jsonl").read_text())
    proc = subprocess.run([sys.executable, "check_contamination.py", "mine.jsonl", "clean.jsonl", "--json"], cwd=ws,
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["documents"] == 2 + len((demo_gsm8k / "train.jsonl").read_text().splitlines())
    assert [(o["file"], o["line"]) for o in report["overlapping"]] == [("mine.jsonl", 2)]
    clean = subprocess.run([sys.executable, "check_contamination.py", "clean.jsonl"], cwd=ws, capture_output=True, text=True)
    assert clean.returncode == 0 and "documents holding a test item: 0 of 12 checked" in clean.stdout


def test_without_test_data_at_hand_the_workspace_has_no_data_check(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path / "run")
    manifest, missing_check = build_workspace(make_config(), paths)  # the pinned source is not in the (empty) HF cache
    assert missing_check and "check_contamination.py" not in manifest and "check_contamination" not in paths.prompt.read_text()
