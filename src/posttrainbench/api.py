"""The Python API that ``ptb`` is a skin over: start a trial, resume one."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from posttrainbench import settings
from posttrainbench.agents import create_agent
from posttrainbench.catalog import get_benchmark
from posttrainbench.config import Device, EvalOverrides, TrialConfig
from posttrainbench.errors import PtbError, check_choice, one_line
from posttrainbench.evaluation.backends import BACKENDS, PROFILES
from posttrainbench.models import resolve_model
from posttrainbench.results.schema import Result
from posttrainbench.sandbox import get_sandbox
from posttrainbench.trial import ProgressFn, Trial, quiet


def results_root(results: Path | None) -> Path:
    """The results folder, created if needed; an unwritable one is a one-line error."""
    root = (results or settings.results_dir()).expanduser().resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PtbError(f"cannot create results directory {root}: {error.strerror}") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise PtbError(f"results directory {root} is not writable")
    return root


def results_to_read(results: Path | None) -> Path:
    """The results folder a reading command looks at (it may not exist yet: then there is nothing to show);
    a path that is a file is a one-line error, never an empty answer."""
    root = (results or settings.results_dir()).expanduser()
    if root.exists() and not root.is_dir():
        raise PtbError(f"results folder {root} is not a directory")
    return root


def new_run_id(benchmark: str, model_id: str, agent: str, seed: int) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    short = model_id.rsplit("/", 1)[-1]
    return f"{benchmark}_{short}_{agent}_s{seed}_{stamp}_{secrets.token_hex(2)}"


def make_config(
    *,
    agent: str,
    model: str,
    benchmark: str,
    hours: float,
    family: str | None = None,
    agent_args: dict[str, Any] | None = None,
    seed: int = 0,
    sandbox: str = "bubblewrap",
    network: bool = True,
    device: str = "cuda",
    prompt_file: Path | None = None,
    label: str | None = None,
    evaluation: EvalOverrides | None = None,
    run_id: str | None = None,
    grace_minutes: float = 5,
) -> TrialConfig:
    """Validate every input and resolve the model; all errors here are one-line ``PtbError``s."""
    get_benchmark(benchmark)
    get_sandbox(sandbox)
    create_agent(agent, **(agent_args or {}))
    if hours <= 0:
        raise PtbError(f"--hours must be positive, got {hours:g}")
    evaluation = evaluation or EvalOverrides()
    # checked now, not when the evaluation starts after hours of solving
    check_choice("--device", device, get_args(Device))
    check_choice("--eval-backend", evaluation.backend, BACKENDS)
    check_choice("--eval-profile", evaluation.profile, PROFILES)
    settings.monitor_interval()  # a bad PTB_MONITOR_INTERVAL fails here, not in the middle of the solve stage
    spec = resolve_model(model, family)
    template = None
    if prompt_file is not None:
        try:
            template = prompt_file.read_text()
        except OSError as error:
            raise PtbError(f"cannot read prompt file {prompt_file}: {error.strerror}") from None
    try:
        return TrialConfig(
            run_id=run_id or new_run_id(benchmark, spec.id, agent, seed),
            agent=agent,
            label=label,
            agent_args=agent_args or {},
            model=spec,
            benchmark=benchmark,
            hours=hours,
            grace_minutes=grace_minutes,
            seed=seed,
            sandbox=sandbox,  # type: ignore[arg-type]
            network=network,
            device=device,  # type: ignore[arg-type]
            prompt_template=template,
            evaluation=evaluation,
        )
    except ValidationError as error:  # a setting the checks above do not cover
        raise PtbError(f"invalid trial setting {one_line(error)}") from None


def run(config: TrialConfig, results: Path | None = None, progress: ProgressFn = quiet) -> Result:
    """Run a whole trial into ``<results>/<run_id>`` and return its result."""
    root = results_root(results)
    if config.prompt_template is not None:
        from posttrainbench.workspace import render_prompt

        render_prompt(config)  # a bad template fails now, before a run directory exists
    return Trial.create(config, root / config.run_id, progress).run()


def resume(run_dir: Path, progress: ProgressFn = quiet) -> Result:
    """Finish a trial from its last completed stage."""
    return Trial.open(run_dir.expanduser().resolve(), progress).run()
