from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ptb
from posttrainbench.catalog import get_benchmark
from posttrainbench.report.tables import leaderboard, to_csv, to_json, to_markdown
from posttrainbench.results import index
from posttrainbench.results.schema import Result


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


def result(label: str, benchmark: str, accuracy: float | None, status: str = "success", model: str = "m") -> Result:
    return Result(run_id=f"{label}-{benchmark}-{model}-{accuracy}", status=status, label=label, agent="command",  # type: ignore[arg-type]
                  model=model, benchmark=benchmark, seed=0, hours=1, sandbox="none", device="cpu", submitted=True,
                  metrics=None if accuracy is None else {"accuracy": accuracy, "stderr": 0.1},
                  ptb_version="0", finished_at="2026-11-22T00:00:00Z")


def test_index_round_trip_and_leaderboard(tmp_path: Path) -> None:
    results = [result("a", "gsm8k", 0.5, model="m1"), result("a", "gsm8k", 0.7, model="m2"),
               result("a", "aime2025", 0.2), result("b", "gsm8k", None, status="error")]
    for r in results:
        index.upsert(tmp_path, r, tmp_path / r.run_id)
    loaded = index.load_results(tmp_path)
    assert sorted(r.run_id for r in loaded) == sorted(r.run_id for r in results)
    rows = {row["name"]: row for row in leaderboard(loaded)}
    expected = get_benchmark("gsm8k").weight * 0.6 + get_benchmark("aime2025").weight * 0.2
    assert rows["a"]["score"] == pytest.approx(expected)
    assert rows["a"]["benchmarks"]["gsm8k"] == pytest.approx(0.6) and rows["a"]["benchmarks_covered"] == 2
    assert rows["b"]["score"] == 0 and rows["b"]["failed"] == 1
    board = leaderboard(loaded)
    assert "| a | " in to_markdown(board) and to_csv(board).splitlines()[0].startswith("name,score,aime2025")
    assert json.loads(to_json(board))[0]["name"] == "a"


def test_report_cli_reads_the_index(tmp_path: Path) -> None:
    index.upsert(tmp_path, result("row", "gsm8k", 1.0), tmp_path / "x")
    proc = ptb("report", "--results", str(tmp_path), "--format", "json")
    rows = json.loads(proc.stdout)
    assert rows[0]["name"] == "row" and rows[0]["score"] == pytest.approx(get_benchmark("gsm8k").weight)
    assert ptb("report", "--results", str(tmp_path), "--format", "xml").returncode == 2
