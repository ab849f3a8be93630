"""Shared fixtures: an isolated environment per test, a tiny model and demo data built once per session."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from posttrainbench.sandbox.bubblewrap import _probe


@functools.cache
def bwrap_problem() -> str | None:
    return _probe()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problem = bwrap_problem()
    if problem is None or os.environ.get("CI"):
        return  # CI can run bubblewrap: there a broken sandbox must fail the tests, never skip them
    skip = pytest.mark.skip(reason=f"bubblewrap unusable here: {problem}")
    for item in items:
        if "requires_bwrap" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own HF cache, scratch and results folder, and fast monitor samples."""
    hf = tmp_path / "hf-cache"
    (hf / "hub").mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(hf))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("PTB_SCRATCH", str(tmp_path / "scratch"))
    monkeypatch.setenv("PTB_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("PTB_MONITOR_INTERVAL", "0.2")
    (tmp_path / "scratch").mkdir()
    return tmp_path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from posttrainbench.tiny import build_tiny_qwen3

    return build_tiny_qwen3(tmp_path_factory.mktemp("models") / "tiny-qwen3")


@pytest.fixture(scope="session")
def demo_gsm8k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from posttrainbench.tiny import write_demo_gsm8k

    return write_demo_gsm8k(tmp_path_factory.mktemp("data") / "gsm8k", n_test=4, n_train=12)


def ptb(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real ``ptb`` entry point in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "posttrainbench", *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def which_or_skip(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not installed")
    return path
