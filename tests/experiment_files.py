"""Experiment files of command-agent trials on the tiny model (written through ptb's own TOML writer), and
waiting for what a background job will do."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from posttrainbench.executors.harbor import to_toml

T = TypeVar("T")


def command_experiment(path: Path, name: str, model: Path, command: str, *, seeds: tuple[int, ...] = (0,), hours: float = 0.05,
                       gpus_per_trial: int = 0, evaluation: dict[str, Any] | None = None, executor: dict[str, Any] | None = None) -> Path:
    """A CPU experiment of ``command``-agent trials on ``model`` for gsm8k, unsandboxed (the tests' own files
    under /tmp stay reachable)."""
    path.write_text(to_toml([
        ("", {"name": name, "hours": hours, "grace_minutes": 0.5, "seeds": list(seeds), "models": [{"path": str(model), "family": "qwen3"}],
              "benchmarks": ["gsm8k"], "device": "cpu", "gpus_per_trial": gpus_per_trial, "sandbox": "none"}),
        ("[[agents]]", {"agent": "command", "args": {"command": command}}),
        ("[evaluation]", evaluation or {}),
        ("[executor]", executor or {"kind": "local"}),
    ]))
    return path


def wait_for(condition: Callable[[], T], what: str, timeout: float = 240, every: float = 1.0) -> T:
    """``condition()``'s first truthy value, asked every ``every`` seconds; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
