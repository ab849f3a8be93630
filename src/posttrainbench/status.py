"""``ptb status``: the state of each run directory, read from its stage markers (the truth on disk)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from posttrainbench.errors import CorruptFileError
from posttrainbench.fileio import read_json, read_model
from posttrainbench.results.schema import Result, StageFailure
from posttrainbench.trial.paths import STAGES, RunPaths


def run_state(run_dir: Path) -> dict[str, Any]:
    """The state of one run directory; raises ``CorruptFileError`` when a file it needs cannot be read."""
    paths = RunPaths(run_dir)
    config = read_json(paths.config)
    done = [stage for stage in STAGES if paths.stage_marker(stage).is_file()]
    failure_path = paths.failure
    failure = read_model(failure_path, StageFailure) if failure_path.is_file() else None
    result = read_model(paths.result, Result) if paths.result.is_file() and "record" in done else None
    if result is not None:
        state = result.status
    elif failure is not None:
        state = f"failed at {failure.stage}"
    elif len(done) < len(STAGES):
        state = f"at {STAGES[len(done)]}" if done else "created"
    else:
        state = "done"
    accuracy = result.accuracy if result is not None else None
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


def unreadable_state(run_dir: Path, error: CorruptFileError) -> dict[str, Any]:
    """The row of a run directory whose files cannot be read: listed, so the other runs still show."""
    return {"run_id": run_dir.name, "agent": None, "model": None, "benchmark": None, "seed": None,
            "state": f"unreadable: {error}", "stages_done": [], "accuracy": None, "run_dir": str(run_dir)}


def all_states(results_root: Path) -> tuple[list[dict[str, Any]], list[CorruptFileError]]:
    """Every run directory's state, and the errors of those that could not be read."""
    rows, errors = [], []
    for config in sorted(results_root.glob("*/config.json")):
        try:
            rows.append(run_state(config.parent))
        except CorruptFileError as error:
            errors.append(error)
            rows.append(unreadable_state(config.parent, error))
        except (KeyError, TypeError) as error:  # valid JSON, but not the layout ptb writes
            problem = CorruptFileError(config.parent, f"unexpected content ({error!r})")
            errors.append(problem)
            rows.append(unreadable_state(config.parent, problem))
    return rows, errors
