"""``ptb status``: the state of each run directory, read from its stage markers (the truth on disk)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from posttrainbench.fileio import read_json
from posttrainbench.paths import STAGES, RunPaths


def run_state(run_dir: Path) -> dict[str, Any]:
    paths = RunPaths(run_dir)
    config = read_json(paths.config)
    done = [stage for stage in STAGES if paths.stage_marker(stage).is_file()]
    failure_path = paths.stages_dir / "failure.json"
    failure = read_json(failure_path) if failure_path.is_file() else None
    result = read_json(paths.result) if paths.result.is_file() and "record" in done else None
    if result is not None:
        state = result["status"]
    elif failure is not None:
        state = f"failed at {failure['stage']}"
    elif len(done) < len(STAGES):
        state = f"at {STAGES[len(done)]}" if done else "created"
    else:
        state = "done"
    accuracy = ((result or {}).get("metrics") or {}).get("accuracy")
    return {
        "run_id": config["run_id"],
        "agent": config.get("label") or config["agent"],
        "model": config["model"]["id"],
        "benchmark": config["benchmark"],
        "seed": config["seed"],
        "state": state,
        "stages_done": done,
        "accuracy": accuracy,
        "run_dir": str(run_dir),
    }


def all_states(results_root: Path) -> list[dict[str, Any]]:
    if not results_root.is_dir():
        return []
    return [run_state(p.parent) for p in sorted(results_root.glob("*/config.json"))]
