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
from posttrainbench.evaluation.benchmarks import get_benchmark
from posttrainbench.config import Device, EvalOverrides, TrialConfig
from posttrainbench.errors import PtbError, SandboxUnavailableError, check_choice, one_line
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
    """The results folder a reading command looks at. The default may not exist yet (then there is nothing
    to show); a folder given with --results that does not exist, or a file, is a one-line error, never an
    empty answer (a mistyped path must not look like an empty folder)."""
    root = (results or settings.results_dir()).expanduser()
    if root.exists() and not root.is_dir():
        raise PtbError(f"results folder {root} is not a directory")
    if results is not None and not root.exists():
        raise PtbError(f"results folder {root} does not exist")
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
        from posttrainbench.trial.stages.prepare import render_prompt

        render_prompt(config)  # a bad template fails now, before a run directory exists
    check_environment(config)
    return Trial.create(config, root / config.run_id, progress).run()


def check_environment(config: TrialConfig) -> None:
    """The sandbox and the agent's CLI work here: a machine that cannot run the trial is a one-line error
    before a run directory (and a failed leaderboard cell) exists. The preflight stage checks again."""
    from posttrainbench.agents import create_agent
    from posttrainbench.sandbox import get_sandbox

    problem = get_sandbox(config.sandbox).problem()
    if problem:
        raise SandboxUnavailableError(f"sandbox {config.sandbox} cannot run here: {problem}; "
                                      "--sandbox none runs the agent without isolation, for debugging only")
    problem = create_agent(config.agent, **config.agent_args).problem()
    if problem:
        raise PtbError(f"agent {config.agent} cannot run here: {problem}")


def resume(run_dir: Path, progress: ProgressFn = quiet) -> Result:
    """Finish a trial from its last completed stage."""
    return Trial.open(run_dir.expanduser().resolve(), progress).run()
