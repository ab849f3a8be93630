"""Inspect task factories, one module per benchmark, registered under the benchmark id.

A factory takes ``data`` (a local path in the benchmark's published schema, or None for the pinned
source) and returns an Inspect ``Task``. Modules import Inspect lazily inside the factory.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from posttrainbench import registry
from posttrainbench.catalog import get_benchmark
from posttrainbench.errors import PtbError

KIND = "task"
_MODULES = {"gsm8k": "posttrainbench.evaluation.benchmarks.gsm8k"}


def task_factory(benchmark_id: str) -> Callable[..., Any]:
    get_benchmark(benchmark_id)  # unknown ids fail with the list of known ones
    module = _MODULES.get(benchmark_id)
    if module is None:
        raise PtbError(f"benchmark {benchmark_id!r} has no evaluator yet; available: {', '.join(_MODULES)}")
    importlib.import_module(module)
    return registry.lookup(KIND, benchmark_id)  # type: ignore[no-any-return]


def build_task(benchmark_id: str, data: Path | None) -> Any:
    return task_factory(benchmark_id)(data=data)


def evaluable() -> list[str]:
    return list(_MODULES)
