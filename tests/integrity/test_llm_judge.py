"""The optional LLM judge against a loopback Chat Completions server: one role per check, a majority of k
runs, and a judge that fails gives unknown, never clean."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

from fake_openai import FakeOpenAI, Reply
from posttrainbench.evaluation.judge import JudgeSettings
from posttrainbench.integrity import AuditInputs, audit
from posttrainbench.integrity.llm_judge import AuditJudge, Task, evidence_pack
from posttrainbench.results.schema import Evidence, Verdict

KEY = "judge-key-123"


def answer(verdict: str, cited: str = "train.py") -> Reply:
    return Reply(text=json.dumps({"verdict": verdict, "reasons": [f"looked at {cited}"], "cited_files": [cited]}))


def inputs_for(tmp_path: Path, tiny_model: Path, demo_gsm8k: Path, judge: AuditJudge) -> AuditInputs:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "train.py").write_text("from datasets import load_dataset\nds = load_dataset('openai/gsm8k', 'main', split='train')\n")
    final = shutil.copytree(tiny_model, workspace / "final_model")
    return AuditInputs(workspace=workspace, benchmark="gsm8k", base_model_id="Qwen/Qwen3-1.7B-Base", base_model=tiny_model,
                       final_model=final, data=demo_gsm8k, judge=judge)


def role_of(body: dict[str, Any]) -> str:
    system = body["messages"][0]["content"]
    return next(check for check, words in (("contamination", "test data"), ("disallowed_model", "submitted model"),
                                           ("tampering", "evaluation files"), ("api_misuse", "hosted commercial")) if words in system)


def judge(server: FakeOpenAI, runs: int) -> AuditJudge:
    return AuditJudge(JudgeSettings(base_url=server.base_url, model="judge-model", api_key_env="AUDIT_JUDGE_KEY", attempts=1), runs=runs)


def test_the_judge_agrees_decides_unknowns_and_cannot_clear_alone(tiny_model: Path, demo_gsm8k: Path, tmp_path: Path,
                                                                   monkeypatch: Any) -> None:
    monkeypatch.setenv("AUDIT_JUDGE_KEY", KEY)
    # contamination: the judge disagrees with a clean scan; tampering (unknown: no manifest): the judge decides
    script = {"contamination": "flagged", "disallowed_model": "clean", "tampering": "clean", "api_misuse": "clean"}
    with FakeOpenAI(lambda body: answer(script[role_of(body)]), api_key=KEY) as server:
        verdicts = {v.check: v for v in audit(inputs_for(tmp_path, tiny_model, demo_gsm8k, judge(server, runs=3)))}
    assert len(server.requests) == 4 * 3 and len({r["messages"][0]["content"] for r in server.requests}) == 4
    assert {check: v.status for check, v in verdicts.items()} == {
        "contamination": "unknown", "disallowed_model": "clean", "tampering": "clean", "api_misuse": "clean"}
    votes = [e.detail for e in verdicts["contamination"].evidence if e.rule == "llm judge"]
    assert votes == ["3 of 3 runs answered: flagged, flagged, flagged"]
    assert [e.file for e in verdicts["contamination"].evidence if e.rule == "llm judge citation"] == ["train.py"]
    assert "train.py" in server.requests[0]["messages"][1]["content"]  # the agent's code is in the evidence pack


def test_a_judge_that_fails_gives_unknown_never_clean(tiny_model: Path, demo_gsm8k: Path, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("AUDIT_JUDGE_KEY", KEY)
    with FakeOpenAI(lambda body: Reply(text="I think it is fine."), api_key=KEY) as server:  # never the JSON asked for
        verdicts = audit(inputs_for(tmp_path, tiny_model, demo_gsm8k, judge(server, runs=2)))
    assert {v.status for v in verdicts} == {"unknown"}
    assert all("0 of 2 runs answered" in next(e.detail for e in v.evidence if e.rule == "llm judge") for v in verdicts)


def test_a_split_vote_decides_nothing(tiny_model: Path, demo_gsm8k: Path, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("AUDIT_JUDGE_KEY", KEY)
    asked: dict[str, int] = {}
    lock = threading.Lock()  # the server answers requests on threads of its own

    def one_of_each(body: dict[str, Any]) -> Reply:  # per check: the first run says clean, the second flagged
        check = role_of(body)
        with lock:
            asked[check] = asked.get(check, 0) + 1
            first = asked[check] == 1
        return answer("clean" if first else "flagged")

    with FakeOpenAI(one_of_each, api_key=KEY) as server:
        verdicts = {v.check: v for v in audit(inputs_for(tmp_path, tiny_model, demo_gsm8k, judge(server, runs=2)))}
    assert verdicts["tampering"].status == "unknown" and verdicts["contamination"].status == "unknown"


def test_the_evidence_pack_stays_within_its_budget(tmp_path: Path) -> None:
    for n in range(50):
        (tmp_path / f"script_{n}.py").write_text("x = 1\n" * 5000)
    verdict = Verdict(check="contamination", status="clean", evidence=[Evidence(rule="scan", detail="d" * 10_000)])
    pack = evidence_pack(Task("gsm8k", "Qwen/Qwen3-1.7B-Base", "train split", tmp_path, None), verdict, 20_000)
    assert len(pack) <= 20_000 and "script_0.py" in pack
