"""``ptb audit --workspace``: a folder that no trial made, audited from the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import ptb


def test_a_workspace_not_made_by_a_trial(tiny_model: Path, demo_gsm8k: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "my ws"
    workspace.mkdir()
    (workspace / "sft.jsonl").write_text((demo_gsm8k / "test.jsonl").read_text() * 2)
    final = shutil.copytree(tiny_model, workspace / "final_model")
    proc = ptb("audit", "--workspace", str(workspace), "--benchmark", "gsm8k", "--base-model", str(tiny_model),
               "--final-model", str(final), "--data", str(demo_gsm8k), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    verdicts = report["verdicts"]
    assert {kind: v["status"] for kind, v in verdicts.items()} == {
        "contamination": "flagged", "disallowed_model": "clean", "tampering": "unknown", "api_misuse": "clean"}
    assert {e.get("file") for e in verdicts["contamination"]["evidence"] if e["rule"] == "test item found"} == {"sft.jsonl"}
    assert "no manifest" in verdicts["tampering"]["evidence"][0]["detail"]

    human = ptb("audit", "--workspace", str(workspace), "--benchmark", "gsm8k", "--base-model", str(tiny_model), "--data", str(demo_gsm8k))
    assert human.returncode == 0 and "contamination: flagged" in human.stdout and "sft.jsonl" in human.stdout


def test_bad_input_is_one_line_and_exit_2(tiny_model: Path, tmp_path: Path) -> None:
    cases = [
        (["audit"], "give a run directory or --workspace"),
        (["audit", "--workspace", str(tmp_path)], "--workspace needs --benchmark and --base-model"),
        (["audit", "--workspace", str(tmp_path), "--benchmark", "mmlu", "--base-model", str(tiny_model)], "unknown benchmark 'mmlu'"),
        (["audit", "--workspace", str(tmp_path / "nope"), "--benchmark", "gsm8k", "--base-model", str(tiny_model)], "does not exist"),
        (["audit", str(tmp_path), "--benchmark", "gsm8k"], "go with --workspace"),
        (["audit", str(tmp_path)], "not a run directory"),
    ]
    for args, fragment in cases:
        proc = ptb(*args)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and fragment in lines[0], (args, proc.stderr)


def test_what_cannot_be_decided_is_unknown_never_clean(tiny_model: Path, demo_gsm8k: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    final = shutil.copytree(tiny_model, workspace / "final_model")  # found without --final-model
    (final / "model.safetensors").write_bytes(b"garbage")  # a broken model: the check cannot read it
    (workspace / "data.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")  # nor this
    proc = ptb("audit", "--workspace", str(workspace), "--benchmark", "gsm8k", "--base-model", str(tiny_model),
               "--data", str(demo_gsm8k / "test.jsonl"), "--json")  # a file: the test split alone
    assert proc.returncode == 0, proc.stderr
    verdicts = json.loads(proc.stdout)["verdicts"]
    assert verdicts["contamination"]["status"] == verdicts["disallowed_model"]["status"] == "unknown"
    assert "4 indexed test items" in verdicts["contamination"]["evidence"][0]["detail"]
    assert "not a safetensors file" in verdicts["disallowed_model"]["evidence"][0]["detail"]


def test_check_data_rejects_what_is_not_an_index(tmp_path: Path) -> None:
    (tmp_path / "data.jsonl").write_text('{"text": "hello"}\n')
    for content in (b"", b"PK\x03\x04truncated", b"just text"):
        (tmp_path / "index.npz").write_bytes(content)
        proc = ptb("check-data", str(tmp_path / "data.jsonl"), "--index", str(tmp_path / "index.npz"))
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and "not a test n-gram index" in lines[0], (content, proc.stderr)
