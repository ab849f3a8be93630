"""Leaderboard scoring on hand-computed cases: weights, every kind of fallback, latest trial wins, seeds and
their spread, time, usage, and the published reference rows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ptb
from posttrainbench.evaluation.benchmarks import all_benchmarks, get_benchmark
from posttrainbench.report import build
from posttrainbench.report.published import published_rows
from posttrainbench.results.scoring import bootstrap_ci, weights
from posttrainbench.report.tables import to_csv, to_json, to_markdown
from posttrainbench.results import index
from posttrainbench.results.index import Baseline
from posttrainbench.results.schema import AuditRecord, CollectRecord, EvaluateRecord, Metrics, Result, SolveRecord, TokenUsage, TraceSummary

BENCHMARKS = [b.id for b in all_benchmarks()]
CLEAN = [{"check": "contamination", "status": "clean"}, {"check": "disallowed_model", "status": "clean"}]


def trial(model: str, benchmark: str, accuracy: float | None, seed: int = 0, status: str = "success", verdicts: list[dict[str, Any]] = CLEAN,
          finished: str = "2026-11-22T10:00:00Z", label: str = "agent", wall: float | None = None, usage: dict[str, Any] | None = None) -> Result:
    return Result(run_id=f"{label}-{model}-{benchmark}-s{seed}-{finished}", status=status, label=label, agent="codex",  # type: ignore[arg-type]
                  model=model, benchmark=benchmark, seed=seed, hours=10, sandbox="bubblewrap", device="cuda",
                  solve=SolveRecord(wall_seconds=wall, budget_seconds=36000),
                  collect=CollectRecord(submitted=status == "success", trace=TraceSummary(usage=TokenUsage(**(usage or {})))),
                  evaluation=EvaluateRecord(metrics=None if accuracy is None else Metrics(accuracy=accuracy)),
                  audit=AuditRecord(verdicts=verdicts), ptb_version="0", finished_at=finished)


def simple_baselines() -> list[Baseline]:
    """Base m1 = 0.1 and m2 = 0.2 everywhere; instruct gaps 0.5 on gsm8k and aime2025, 1.0 elsewhere,
    so the recomputed weights are 2/9 for those two and 1/9 for the other five."""
    out = []
    for b in BENCHMARKS:
        out += [Baseline("m1", b, "base_zero_shot", 0.1, "test"), Baseline("m2", b, "base_zero_shot", 0.2, "test")]
        out.append(Baseline("m1-instruct", b, "instruct", 0.15 + (0.5 if b in ("gsm8k", "aime2025") else 1.0), "test"))
    return out


def test_weights_published_by_default_and_recomputed_from_baselines() -> None:
    assert weights().source == "published" and weights().by_benchmark["aime2025"] == pytest.approx(0.226536549919078)
    w = weights(simple_baselines())
    assert w.source == "recomputed"
    assert w.by_benchmark["gsm8k"] == pytest.approx(2 / 9) and w.by_benchmark["bfcl"] == pytest.approx(1 / 9)
    assert weights(simple_baselines()[:-1]).source == "published"  # one benchmark without an instruct score
    # The published per-benchmark averages give back the published factors (up to their 0.1-point rounding).
    published = [Baseline("i", b, "instruct", get_benchmark(b).published.instruct, "p") for b in BENCHMARKS]
    published += [Baseline("b", b, "base_zero_shot", get_benchmark(b).published.base, "p") for b in BENCHMARKS]
    recomputed = weights(published).by_benchmark
    for b in all_benchmarks():
        assert recomputed[b.id] == pytest.approx(b.weight, abs=2e-3)


def test_published_reference_rows_reproduce_the_headline_numbers() -> None:
    instruct, base = published_rows(weights())
    assert round(100 * instruct.score, 1) == 51.1 and round(100 * base.score, 1) == 7.5
    assert instruct.reference and "README" in instruct.reference


def test_fallbacks_of_every_kind_latest_trial_wins_and_seed_spread(tmp_path: Path) -> None:
    flagged = lambda check, verdict: [v if v["check"] != check else {**v, "status": verdict} for v in CLEAN]  # noqa: E731
    results = [
        trial("m1", "gsm8k", 0.6, wall=3600, usage={"input_tokens": 1000, "output_tokens": 10, "cost_usd": 2.0}),
        trial("m1", "aime2025", 0.9, verdicts=flagged("contamination", "flagged")),
        trial("m1", "bfcl", None, status="error"),
        trial("m1", "humaneval", None, status="no_submission"),
        trial("m1", "gpqamain", 0.8, verdicts=flagged("disallowed_model", "flagged")),
        trial("m1", "healthbench", 0.7, verdicts=flagged("contamination", "error")),
        # m1 arenahardwriting: no trial at all
        trial("m2", "gsm8k", 0.99, finished="2026-11-21T00:00:00Z"),  # older attempt: ignored
        trial("m2", "gsm8k", 0.5, wall=7200, usage={"input_tokens": 3000, "output_tokens": 30}),
        trial("m1", "gsm8k", 0.9, seed=1, wall=1800),
        trial("m2", "gsm8k", 0.5, seed=1, verdicts=[{"check": "contamination", "status": "unknown"}]),  # unaudited: still counts
    ]
    for r in results:
        index.upsert(tmp_path, r, tmp_path / r.run_id)
    index.upsert_baselines(tmp_path, simple_baselines())
    rows, w = build(tmp_path)
    assert w.source == "recomputed"
    row = next(r for r in rows if r.name == "agent")
    # seed 0: m1 = (2*0.6 + 2*0.1 + 5*0.1) / 9 = 1.9/9, m2 = (2*0.5 + 2*0.2 + 5*0.2) / 9 = 2.4/9
    # seed 1: m1 = (2*0.9 + 2*0.1 + 5*0.1) / 9 = 2.5/9, m2 = 2.4/9
    assert row.seed_scores[0] == pytest.approx(4.3 / 18) and row.seed_scores[1] == pytest.approx(4.9 / 18)
    assert row.score == pytest.approx(9.2 / 36) and row.n_seeds == 2
    assert row.std == pytest.approx((0.6 / 18) / 2 ** 0.5)  # sample std of two values: |a - b| / sqrt(2)
    assert row.ci95 is not None and 4.3 / 18 - 1e-9 <= row.ci95[0] <= row.ci95[1] <= 4.9 / 18 + 1e-9
    cells = row.cells[0]["m1"]
    assert (cells["aime2025"].value, cells["aime2025"].accuracy, cells["aime2025"].markers) == (0.1, 0.9, ("contamination",))
    assert cells["bfcl"].markers == ("evaluation_error",) and cells["humaneval"].markers == ("not_submitted",)
    assert cells["gpqamain"].markers == ("disallowed_model",) and cells["healthbench"].markers == ("audit_error",)
    assert cells["arenahardwriting"].markers == ("not_submitted",) and cells["arenahardwriting"].run_id is None
    assert row.cells[0]["m2"]["gsm8k"].value == 0.5 and row.cells[1]["m2"]["gsm8k"].unaudited
    # 2 missing on m1 + 6 on m2 at seed 0, 6 + 6 at seed 1
    assert row.marker_counts == {"contamination": 1, "evaluation_error": 1, "not_submitted": 20, "disallowed_model": 1, "audit_error": 1}
    assert row.benchmarks["gsm8k"] == pytest.approx((0.6 + 0.5 + 0.9 + 0.5) / 4) and row.cells_without_value == 0
    assert row.time["mean_seconds"] == pytest.approx((3600 + 7200 + 1800) / 3)
    assert row.time["std_seconds"] == pytest.approx(abs(5400 - 1800) / 2 ** 0.5)  # per-seed means 5400 and 1800
    assert row.time["budget_share"] == pytest.approx((0.1 + 0.2 + 0.05) / 3)
    assert row.usage == {"input_tokens": 2000, "output_tokens": 20, "cost_usd": 2.0, "total_cost_usd": 2.0}
    base = next(r for r in rows if r.name.startswith("Base models, zero-shot"))
    assert base.score == pytest.approx(0.15) and base.reference == "test"  # mean over m1 (0.1) and m2 (0.2)
    md, table = to_markdown(rows, w), to_csv(rows, w)
    assert "| agent | 25.6 ± 2.4 | 2 |" in md and "C1" in md and "N20" in md
    assert table.splitlines()[0].startswith("name,score,std,n_seeds,ci95_low,ci95_high,aime2025")


def test_a_cell_without_trial_or_baseline_counts_zero_and_is_counted(tmp_path: Path) -> None:
    index.upsert(tmp_path, trial("m1", "gsm8k", 0.5), tmp_path / "a")
    rows, w = build(tmp_path)
    (row,) = rows
    assert row.score == pytest.approx(w.by_benchmark["gsm8k"] * 0.5) and row.std is None and row.ci95 is None
    assert row.cells_without_value == 6 and row.benchmarks["bfcl"] is None


def test_unaudited_cells_are_marked_in_every_format(tmp_path: Path) -> None:
    unknown = [{"check": "contamination", "status": "unknown"}, {"check": "disallowed_model", "status": "unknown"}]
    index.upsert(tmp_path, trial("m1", "gsm8k", 0.5, verdicts=unknown), tmp_path / "a")
    index.upsert(tmp_path, trial("m1", "bfcl", 0.4, verdicts=unknown), tmp_path / "b")
    index.upsert(tmp_path, trial("m1", "gsm8k", 0.5, label="audited"), tmp_path / "c")
    rows, w = build(tmp_path)
    by_name = {row.name: row for row in rows}
    assert (by_name["agent"].unaudited_cells, by_name["audited"].unaudited_cells) == (2, 0)
    md = to_markdown(rows, w).splitlines()
    head = [cell.strip() for cell in md[0].strip("|").split("|")]
    agent_cells = [cell.strip() for cell in next(line for line in md if line.startswith("| agent ")).strip("|").split("|")]
    audited_cells = [cell.strip() for cell in next(line for line in md if line.startswith("| audited ")).strip("|").split("|")]
    column = head.index("unaudited")
    assert (agent_cells[column], audited_cells[column]) == ("2", "-")
    assert any(line.startswith("Unaudited: cells whose integrity checks did not run") for line in md)
    table = list(csv.DictReader(io.StringIO(to_csv(rows, w))))
    assert {row["name"]: row["unaudited"] for row in table} == {"agent": "2", "audited": "0"}
    assert json.loads(to_json(rows, w))[0]["unaudited_cells"] in (0, 2)


def test_bootstrap_interval_is_reproducible_and_brackets_the_mean() -> None:
    scores = [0.2, 0.25, 0.3, 0.22]
    low, high = bootstrap_ci(scores)  # type: ignore[misc]
    assert low <= sum(scores) / 4 <= high and bootstrap_ci(scores) == (low, high) and bootstrap_ci([0.3]) is None


def test_report_json_and_an_older_index_is_upgraded(tmp_path: Path) -> None:
    import sqlite3

    # an index of the first layout: the trials table without the leaderboard columns
    conn = sqlite3.connect(tmp_path / "index.sqlite")
    conn.execute("CREATE TABLE trials (run_id TEXT PRIMARY KEY, label TEXT, run_dir TEXT, result_json TEXT)")
    old = trial("m1", "gsm8k", 1.0, label="row")
    conn.execute("INSERT INTO trials VALUES (?,?,?,?)", (old.run_id, "row", str(tmp_path / "x"), old.model_dump_json()))
    conn.commit()
    conn.close()
    proc = ptb("report", "--results", str(tmp_path), "--format", "json", "--published")
    assert proc.returncode == 0, proc.stderr
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert rows["row"]["score"] == pytest.approx(weights().by_benchmark["gsm8k"]) and rows["row"]["std"] is None
    assert rows["row"]["n_seeds"] == 1 and rows["row"]["benchmarks"]["gsm8k"] == 1.0
    assert round(100 * rows["Official instruct models (published)"]["score"], 1) == 51.1
    assert ptb("report", "--results", str(tmp_path), "--format", "xml").returncode == 2


@pytest.mark.slow
@pytest.mark.requires_hf
def test_ptb_baseline_evaluates_and_failed_cells_fall_back_to_it(tiny_model: Path, demo_gsm8k: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    proc = ptb("baseline", "--models", str(tiny_model), "--family", "qwen3", "--kind", "base_zero_shot", "--benchmarks", "gsm8k",
               "--limit", "2", "--max-tokens", "8", "--data", str(demo_gsm8k), "--device", "cpu", "--results", str(results))
    assert proc.returncode == 0, proc.stderr[-2000:]
    (stored,) = index.load_baselines(results)
    assert (stored.model, stored.benchmark, stored.kind) == (tiny_model.name, "gsm8k", "base_zero_shot")
    assert 0 <= stored.score <= 1 and "n=2" in stored.source and "max_tokens=8" in stored.source
    index.upsert(results, trial(tiny_model.name, "gsm8k", None, status="error"), results / "failed")
    rows = {row["name"]: row for row in json.loads(ptb("report", "--results", str(results), "--format", "json").stdout)}
    cell = rows["agent"]["cells"]["0"][tiny_model.name]["gsm8k"]
    assert cell["value"] == stored.score and cell["markers"] == ["evaluation_error"]
    assert "Base models, zero-shot (baseline)" in rows
    no_kind = ptb("baseline", "--models", str(tiny_model), "--family", "qwen3", "--results", str(results))
    assert no_kind.returncode == 2 and "needs --kind" in no_kind.stderr
    bad = ptb("baseline", "--models", str(tiny_model), "--kind", "best", "--results", str(results))
    assert bad.returncode == 2 and "unknown --kind" in bad.stderr
