"""``ptb import upstream`` on a results tree in the original's layout written here, then re-scored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ptb
from posttrainbench.importers.upstream import parse_method
from upstream_tree import W_GSM8K, expected_seed_scores, upstream_tree

def test_method_names_map_to_label_and_seed() -> None:
    m = parse_method("claude_claude-opus-4-6_1m__10h_2gpu_v6_seed3", {})
    assert m is not None and (m.agent, m.hours, m.label, m.seed) == ("claude", 10.0, "claude_claude-opus-4-6_1m__10h_2gpu_v6", 3)
    plain = parse_method("codex_gpt-5.2_1h", {})
    assert plain is not None and (plain.label, plain.seed, plain.hours) == ("codex_gpt-5.2_1h", None, 1.0)
    assert parse_method("notes", {}) is None
    assert parse_method("codex_gpt-5.2_1h_run2", {"codex_gpt-5.2_1h_run2": "GPT 5.2"}).label == "GPT 5.2"  # type: ignore[union-attr]


def test_import_then_report_rescored_like_the_original(tmp_path: Path) -> None:
    source, results = tmp_path / "upstream", tmp_path / "results"
    upstream_tree(source)
    proc = ptb("import", "upstream", str(source), "--results", str(results), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["trials"] == 8 and summary["baselines"] == 15 and summary["skipped"] == ["notes: not <agent>_<config>_<hours>h<suffix>"]
    report = ptb("report", "--results", str(results), "--format", "json")
    assert report.returncode == 0, report.stderr
    rows = {row["name"]: row for row in json.loads(report.stdout)}
    row = rows["claude_claude-opus-4-6_10h"]
    seed1, seed2 = expected_seed_scores()
    assert row["n_seeds"] == 2 and row["seed_scores"] == {"1": pytest.approx(seed1), "2": pytest.approx(seed2)}
    assert row["score"] == pytest.approx((seed1 + seed2) / 2) and row["std"] == pytest.approx(abs(seed1 - seed2) / 2 ** 0.5)
    assert row["benchmarks"]["gsm8k"] == pytest.approx((0.5 + 0.3 + 0.7 + 0.4) / 4)
    cells = row["cells"]["1"]["Qwen/Qwen3-1.7B-Base"]
    assert cells["gsm8k"]["value"] == 0.5 and cells["humaneval"]["markers"] == ["evaluation_error"]
    assert cells["bfcl"] == {**cells["bfcl"], "value": 0.1, "accuracy": 0.7, "markers": ["audit_error"]}  # judgement file missing
    assert cells["gpqamain"]["markers"] == ["audit_error"] and cells["aime2025"]["markers"] == ["not_submitted"]
    assert row["cells"]["1"]["Qwen/Qwen3-4B-Base"]["gsm8k"]["markers"] == ["contamination"]
    assert row["time"]["mean_seconds"] == pytest.approx((6 * 5 + 2 * 2.5) * 3600 / 8)
    assert rows["Base models, zero-shot (baseline)"]["score"] == pytest.approx(((0.2 + 0.3) * W_GSM8K + (0.1 + 0.15) * (1 - W_GSM8K)) / 2)
    # the run directory keeps the original's prompt and raw agent output, and where it came from
    run_dir = results / "upstream__claude_claude-opus-4-6_10h_run1__gsm8k_Qwen_Qwen3-1.7B-Base_200"
    assert (run_dir / "prompt.txt").read_text().startswith("Train gsm8k") and (run_dir / "agent" / "output.log").is_file()
    assert json.loads((run_dir / "result.json").read_text())["imported_from"].endswith("gsm8k_Qwen_Qwen3-1.7B-Base_200")


def test_label_map_groups_methods_and_bad_input_is_one_line(tmp_path: Path) -> None:
    source, results = tmp_path / "upstream", tmp_path / "results"
    upstream_tree(source)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"claude_claude-opus-4-6_10h_run1": "Opus 4.6", "claude_claude-opus-4-6_10h_run2": "Opus 4.6"}))
    assert ptb("import", "upstream", str(source), "--results", str(results), "--label-map", str(mapping)).returncode == 0
    rows = {row["name"]: row for row in json.loads(ptb("report", "--results", str(results), "--format", "json").stdout)}
    assert rows["Opus 4.6"]["n_seeds"] == 2 and rows["Opus 4.6"]["score"] == pytest.approx(sum(expected_seed_scores()) / 2)
    missing = ptb("import", "upstream", str(tmp_path / "nowhere"), "--results", str(results))
    assert missing.returncode == 2 and "is not a directory" in missing.stderr
    mapping.write_text("[1, 2]")
    bad = ptb("import", "upstream", str(source), "--results", str(results), "--label-map", str(mapping))
    assert bad.returncode == 2 and "expected a JSON object" in bad.stderr
