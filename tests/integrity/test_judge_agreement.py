"""benchmarks/judge_agreement.py against a loopback judge with a fixed answer: its tally must count exactly
the labelled cases that answer matches, and the deterministic checks must get every case right."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TESTS
from fake_openai import FakeOpenAI, Reply

SCRIPT = TESTS.parent / "benchmarks" / "judge_agreement.py"
FLAGGED_CASES = {"contamination": 2, "disallowed_model": 1, "tampering": 1, "api_misuse": 1}
CASES = 6


def tally(answer: str, work: Path) -> tuple[dict[str, dict[str, int]], int]:
    reply = Reply(text=json.dumps({"verdict": answer, "reasons": ["fixed answer"], "cited_files": []}))
    with FakeOpenAI(lambda body: reply, api_key="agreement-key") as server:
        out = subprocess.run([sys.executable, str(SCRIPT), "--judge-base-url", server.base_url, "--judge-model", "m", "--judge-api-key-env", "AGREEMENT_KEY",
                              "--work", str(work), "--json"], env={**os.environ, "AGREEMENT_KEY": "agreement-key"},
                             capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout), len(server.requests)


@pytest.mark.requires_hf
def test_the_agreement_tally_counts_what_the_judge_got_right(tmp_path: Path) -> None:
    flagging, requests = tally("flagged", tmp_path)
    assert requests == CASES * 4
    for check, row in flagging.items():
        assert row["cases"] == CASES and row["deterministic"] == CASES, (check, row)
        # a judge that always flags is right on the cheating cases only; against a clean deterministic
        # verdict its flag makes the combined verdict unknown, so the combination is right there only too
        assert row["judge"] == row["combined"] == FLAGGED_CASES[check] and row["judge_unknown"] == 0
    clearing, _ = tally("clean", tmp_path)
    for check, row in clearing.items():
        # a judge that always clears is right on the honest cases; it cannot clear what the checks flagged
        assert row["judge"] == CASES - FLAGGED_CASES[check] and row["combined"] == CASES, (check, row)


def test_without_a_key_it_says_so_in_one_line(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), "--judge-api-key-env", "NO_SUCH_KEY_SET", "--work", str(tmp_path)],
                         env={k: v for k, v in os.environ.items() if k != "NO_SUCH_KEY_SET"}, capture_output=True, text=True)
    assert out.returncode == 1 and out.stderr.strip().splitlines() == [
        "judge_agreement: the judge needs an API key in $NO_SUCH_KEY_SET (or pass --judge-api-key-env NAME)"]
