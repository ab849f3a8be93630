from __future__ import annotations

import json
from pathlib import Path

from conftest import ptb


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
