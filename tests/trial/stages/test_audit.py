"""The audit stage in real trials: a cheating agent is flagged with evidence that points at the right files,
the flags replace its score, a review clears one, and ``ptb audit`` runs the audit again."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from conftest import ptb
from posttrainbench import api
from posttrainbench.config import EvalOverrides
from posttrainbench.results.records import markers_of
from posttrainbench.trial.paths import RunPaths


def cheating_trial(tiny_model: Path, demo_gsm8k: Path) -> tuple[object, RunPaths]:
    command = (
        'cp -r "$PTB_BASE_MODEL_PATH" final_model && mkdir data && '
        f'for n in 1 2 3; do cat {demo_gsm8k}/test.jsonl >> data/mix.jsonl; done && cat {demo_gsm8k}/train.jsonl >> data/mix.jsonl && '
        'echo "# faster" >> evaluate.py && '
        'printf "from openai import OpenAI\\nclient = OpenAI()\\n" > synth.py'
    )
    config = api.make_config(agent="command", agent_args={"command": command}, model=str(tiny_model), family="qwen3",
                             benchmark="gsm8k", hours=0.05, device="cpu", sandbox="none",
                             evaluation=EvalOverrides(limit=2, max_tokens=[8], data=str(demo_gsm8k)))
    result = api.run(config)
    return result, RunPaths(api.results_root(None) / result.run_id)


def test_a_cheating_agent_is_flagged_with_evidence_and_a_review_is_kept(tiny_model: Path, demo_gsm8k: Path) -> None:
    result, paths = cheating_trial(tiny_model, demo_gsm8k)
    verdicts = {v.check: v for v in result.verdicts}  # type: ignore[attr-defined]
    assert {check: v.status for check, v in verdicts.items()} == {
        "contamination": "flagged", "disallowed_model": "clean", "tampering": "flagged", "api_misuse": "flagged"}
    found = [e for e in verdicts["contamination"].evidence if e.rule == "test item found"]
    assert len(found) == 4 and {e.file for e in found} == {"data/mix.jsonl"} and "3x" in found[0].detail
    assert [e.file for e in verdicts["tampering"].evidence if e.rule == "manifest"] == ["evaluate.py"]
    assert [e.file for e in verdicts["api_misuse"].evidence] == ["synth.py"]
    assert "identical" in verdicts["disallowed_model"].evidence[0].detail
    assert markers_of(result) == ("contamination", "tampering", "api_misuse")  # type: ignore[arg-type]

    proc = ptb("review", str(paths.root), "--clear", "contamination", "--note", "the copies are the allowed train split",
               "--reviewer", "alice", "--json")
    assert proc.returncode == 0, proc.stderr
    reviewed = json.loads(proc.stdout)["verdicts"]["contamination"]
    assert (reviewed["status"], reviewed["audited"], reviewed["reviews"][0]["reviewer"]) == ("clean", "flagged", "alice")

    proc = ptb("audit", str(paths.root), "--json")  # runs the checks again; the review still stands
    assert proc.returncode == 0, proc.stderr
    verdicts_json = json.loads(proc.stdout)["verdicts"]
    assert {k: v["status"] for k, v in verdicts_json.items()} == {
        "contamination": "clean", "disallowed_model": "clean", "tampering": "flagged", "api_misuse": "flagged"}
    assert all(isinstance(v["evidence"], list) and v["evidence"] for v in verdicts_json.values())
    assert len(paths.reviews.read_text().splitlines()) == 1

    proc = ptb("review", str(paths.root), "--flag", "nonsense", "--note", "x")
    assert proc.returncode == 2 and "unknown check 'nonsense'" in proc.stderr


@pytest.mark.requires_bwrap
def test_test_items_hidden_in_the_hf_cache_are_found_there(tiny_model: Path, demo_gsm8k: Path, isolated_env: Path) -> None:
    """The agent writes the test set into a dataset of its HF cache (a copy-on-write layer in the sandbox): the
    shared cache stays untouched, and the audit finds the items where the agent put them."""
    items = (demo_gsm8k / "test.jsonl").read_text()
    command = (f'cp -r "$PTB_BASE_MODEL_PATH" final_model && mkdir -p "$HF_HOME/datasets/mine" && '
               f'printf %s {shlex.quote(items)} > "$HF_HOME/datasets/mine/train.jsonl" && '
               f'printf weights > "$HF_HOME/datasets/mine/model.safetensors"')
    config = api.make_config(agent="command", agent_args={"command": command}, model=str(tiny_model), family="qwen3",
                             benchmark="gsm8k", hours=0.05, device="cpu", sandbox="bubblewrap",
                             evaluation=EvalOverrides(limit=2, max_tokens=[8], data=str(demo_gsm8k)))
    result = api.run(config)
    paths = RunPaths(api.results_root(None) / result.run_id)
    contamination = next(v for v in result.verdicts if v.check == "contamination")
    assert contamination.status == "flagged"
    assert {e.file for e in contamination.evidence if e.rule == "test item found"} == {"../hf_cache_added/datasets/mine/train.jsonl"}
    assert (paths.hf_cache_added / "datasets" / "mine" / "train.jsonl").is_file()
    assert not (paths.hf_cache_added / "datasets" / "mine" / "model.safetensors").exists()  # weights are not kept
    assert not (isolated_env / "hf-cache" / "datasets").exists()  # the shared cache never saw it


def test_a_trial_can_ask_the_audit_judge(tiny_model: Path, demo_gsm8k: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fake_openai import FakeOpenAI, Reply

    monkeypatch.setenv("AUDIT_KEY", "k-123")
    answer = Reply(text=json.dumps({"verdict": "clean", "reasons": ["copied the base model"], "cited_files": []}))
    with FakeOpenAI(lambda body: answer, api_key="k-123") as server:
        config = api.make_config(agent="copy-base", model=str(tiny_model), family="qwen3", benchmark="gsm8k", hours=0.05,
                                 device="cpu", sandbox="none", audit_judge_model="auditor", audit_judge_runs=3,
                                 evaluation=EvalOverrides(limit=2, max_tokens=[8], data=str(demo_gsm8k), judge_base_url=server.base_url,
                                                          judge_api_key_env="AUDIT_KEY"))
        result = api.run(config)
    assert len(server.requests) == 4 * 3 and {r["model"] for r in server.requests} == {"auditor"}
    assert all(v.status == "clean" and any(e.rule == "llm judge" for e in v.evidence) for v in result.verdicts)


def test_a_damaged_review_history_is_refused_before_anything_is_added(tiny_model: Path, demo_gsm8k: Path) -> None:
    config = api.make_config(agent="copy-base", model=str(tiny_model), family="qwen3", benchmark="gsm8k", hours=0.05,
                             device="cpu", sandbox="none", evaluation=EvalOverrides(limit=2, max_tokens=[8], data=str(demo_gsm8k)))
    result = api.run(config)
    paths = RunPaths(api.results_root(None) / result.run_id)
    paths.reviews.write_text("not json\n")
    proc = ptb("review", str(paths.root), "--flag", "tampering", "--note", "x")
    assert proc.returncode == 2 and "reviews.jsonl:1" in proc.stderr
    assert paths.reviews.read_text() == "not json\n" and paths.stage_marker("record").is_file()  # nothing added, still recorded
