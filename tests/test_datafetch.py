"""``ptb data fetch`` of URL sources from a loopback server, the manifest, and ``ptb data verify``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ptb
from posttrainbench import datafetch
from posttrainbench.datafetch import fetch, manifest_path, verify
from posttrainbench.evaluation.benchmarks import healthbench
from posttrainbench.evaluation.sources import UrlSource, load_records


@pytest.fixture(autouse=True)
def no_chat_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    """``fetch`` also downloads the original's chat templates from GitHub, unreachable here; their fetch is
    tested in test_chat_templates.py."""
    monkeypatch.setattr(datafetch, "UPSTREAM", {})


def test_fetch_url_source_then_load_and_verify(file_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    served, base = file_server
    (served / "hb.jsonl").write_text(json.dumps({"prompt": [], "rubrics": []}) + "\n")
    monkeypatch.setitem(healthbench.SOURCES, "test", UrlSource(f"{base}/hb.jsonl", "healthbench_oss_eval.jsonl"))
    lines: list[str] = []
    manifest = fetch(["healthbench"], models=False, progress=lines.append)
    assert manifest["failures"] == [] and len(manifest["entries"]) == 1 and "healthbench" in lines[0]
    entry = manifest["entries"][0]
    assert entry["files"]["healthbench_oss_eval.jsonl"] == entry["revision"]
    assert load_records("healthbench", healthbench.SOURCES["test"], None) == [{"prompt": [], "rubrics": []}]
    assert verify() == []
    fetched = Path(entry["root"]) / "healthbench_oss_eval.jsonl"
    fetched.write_text("tampered\n")
    assert verify() == [f"changed: {fetched}"]
    proc = ptb("data", "verify")
    assert proc.returncode == 1 and "changed" in proc.stderr


def test_pinned_digest_mismatch_is_refused(file_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    served, base = file_server
    (served / "hb.jsonl").write_text("{}\n")
    monkeypatch.setitem(healthbench.SOURCES, "test", UrlSource(f"{base}/hb.jsonl", "hb.jsonl", sha256="0" * 64))
    manifest = fetch(["healthbench"], models=False, progress=lambda line: None)
    assert manifest["entries"] == [] and "does not match" in manifest["failures"][0]["error"]
    assert not (manifest_path().parent / "healthbench" / "hb.jsonl").exists()


def test_unfetched_data_and_offline_hub_are_one_line_errors(tiny_model: Path) -> None:
    proc = ptb("eval", "--model-path", str(tiny_model), "--benchmark", "healthbench", "--device", "cpu", env={"OPENAI_API_KEY": "k"})
    assert proc.returncode == 2 and "ptb data fetch --benchmark healthbench" in proc.stderr
    proc = ptb("eval", "--model-path", str(tiny_model), "--benchmark", "aime2025", "--device", "cpu")
    assert proc.returncode == 2 and "cannot load hf://math-ai/aime25" in proc.stderr and "Traceback" not in proc.stderr
    assert ptb("data", "verify").returncode == 2  # no manifest yet
