"""Samples CPU load, memory, workspace disk use and GPUs into the run directory while the agent works."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from posttrainbench.fileio import iso_now

_GPU_QUERY = "index,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw"


def _meminfo() -> dict[str, int]:
    values: dict[str, int] = {}
    with open("/proc/meminfo") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("MemTotal", "MemAvailable"):
                values[key] = int(rest.split()[0]) // 1024
    return values


def _gpus() -> list[dict[str, str]] | None:
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={_GPU_QUERY}", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    keys = _GPU_QUERY.split(",")
    return [dict(zip(keys, (v.strip() for v in line.split(",")), strict=False)) for line in out.strip().splitlines()]


def sample(workspace: Path) -> dict[str, Any]:
    mem = _meminfo()
    disk = shutil.disk_usage(workspace)
    return {
        "time": iso_now(),
        "load1": os.getloadavg()[0],
        "mem_total_mb": mem.get("MemTotal"),
        "mem_available_mb": mem.get("MemAvailable"),
        "disk_free_gb": round(disk.free / 2**30, 2),
        "gpus": _gpus(),
    }


class SystemMonitor:
    """Background thread appending one JSON line per interval to ``output``; stop() ends it."""

    def __init__(self, output: Path, workspace: Path, interval: float):
        self.output, self.workspace, self.interval = output, workspace, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ptb-monitor", daemon=True)

    def _loop(self) -> None:
        while True:
            with open(self.output, "a") as handle:
                handle.write(json.dumps(sample(self.workspace)) + "\n")
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> SystemMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
