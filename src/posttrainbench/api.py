"""The Python API that ``ptb`` is a skin over: start a trial, resume one."""

from __future__ import annotations

import dataclasses
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from collections.abc import Callable
from typing import Any, get_args

from pydantic import ValidationError

from posttrainbench import settings
from posttrainbench.agents import create_agent
from posttrainbench.evaluation.benchmarks import get_benchmark
from posttrainbench.config import Device, EvalOverrides, TrialConfig
from posttrainbench.errors import PtbError, SandboxUnavailableError, check_choice, one_line
from posttrainbench.evaluation.backends import BACKENDS, PROFILES
from posttrainbench.integrity.llm_judge import AuditJudge
from posttrainbench.models import resolve_model
from posttrainbench.results.schema import Result, Verdict
from posttrainbench.sandbox import get_sandbox
from posttrainbench.trial import ProgressFn, Trial, quiet
from posttrainbench.trial.stages.audit import configured_judge


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
    container_image: str | None = None,
    network: bool = True,
    device: str = "cuda",
    prompt_file: Path | None = None,
    label: str | None = None,
    evaluation: EvalOverrides | None = None,
    run_id: str | None = None,
    grace_minutes: float = 5,
    audit_judge_model: str | None = None,
    audit_judge_runs: int = 1,
) -> TrialConfig:
    """Validate every input and resolve the model; all errors here are one-line ``PtbError``s."""
    get_benchmark(benchmark)
    get_sandbox(sandbox)
    if sandbox in ("apptainer", "podman", "docker") and not container_image:
        raise PtbError(f"--sandbox {sandbox} needs --container-image (an image with the agent CLIs; see containers/)")
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
            container_image=container_image,
            network=network,
            device=device,  # type: ignore[arg-type]
            prompt_template=template,
            evaluation=evaluation,
            audit_judge_model=audit_judge_model,
            audit_judge_runs=audit_judge_runs,
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

    problem = get_sandbox(config.sandbox, config.container_image).problem()
    if problem:
        raise SandboxUnavailableError(f"sandbox {config.sandbox} cannot run here: {problem}; "
                                      "--sandbox none runs the agent without isolation, for debugging only")
    problem = create_agent(config.agent, **config.agent_args).problem()
    if problem:
        raise PtbError(f"agent {config.agent} cannot run here: {problem}")
    judge = configured_judge(config)
    if judge is not None:
        judge.settings.api_key()  # its key is missing: found now, not after the agent's hours


def resume(run_dir: Path, progress: ProgressFn = quiet) -> Result:
    """Finish a trial from its last completed stage."""
    return Trial.open(run_dir.expanduser().resolve(), progress).run()


def audit(run_dir: Path, judge: AuditJudge | None = None, progress: ProgressFn = quiet) -> Result:
    """Run the audit of a finished trial again (the checks may have improved, the data arrived), with the
    optional LLM judge, and record it."""
    trial = Trial.open(run_dir, progress)
    trial.context = dataclasses.replace(trial.context, audit_judge=judge)
    return trial.rerun(("audit", "record"))


def audit_judge(base_url: str | None, model: str | None, api_key_env: str, runs: int) -> AuditJudge | None:
    """The audit's LLM judge from ``ptb audit``'s options; None when no model is named."""
    from posttrainbench.evaluation.judge import JudgeSettings

    if model is None:
        if base_url is not None:
            raise PtbError("--judge-base-url needs --judge-model")
        return None
    if runs < 1:
        raise PtbError(f"--judge-runs must be at least 1, got {runs}")
    settings = JudgeSettings.of(base_url, model, api_key_env=api_key_env, attempts=3)
    settings.api_key()  # a missing key is bad input, found before any work
    return AuditJudge(settings, runs=runs)


def audit_workspace(workspace: Path, benchmark: str, base_model: Path, final_model: Path | None = None,
                    instruct_model: Path | None = None, data: Path | None = None, judge: AuditJudge | None = None,
                    progress: Callable[[str], None] | None = None) -> list[Verdict]:
    """Audit a folder that no trial made: no manifest (tampering unknown) and no trace (tool calls not checked).
    The model is ``final_model``, else the workspace's ``final_model/`` folder where it has one."""
    from posttrainbench import integrity

    if final_model is None and (workspace / "final_model").is_dir():
        final_model = workspace / "final_model"
    get_benchmark(benchmark)
    for name, path in (("workspace", workspace), ("base model", base_model), ("final model", final_model),
                       ("instruct model", instruct_model), ("data", data)):
        if path is not None and not path.exists():
            raise PtbError(f"{name} {path} does not exist")
    return integrity.audit(integrity.AuditInputs(
        workspace=workspace, benchmark=benchmark, base_model_id=_model_id(base_model), base_model=base_model,
        final_model=final_model, instruct_model=instruct_model, data=data, judge=judge, progress=progress))


def _model_id(model: Path) -> str:
    """The hub id a model folder was saved from, where its config says (``_name_or_path``), else the folder name."""
    import json

    config = json.loads((model / "config.json").read_text()) if (model / "config.json").is_file() else {}
    name = config.get("_name_or_path")
    return name if isinstance(name, str) and "/" in name else model.name


def review(run_dir: Path, check: str, status: str, note: str, reviewer: str | None = None) -> Result:
    """Record a person's decision on one verdict of a finished trial, and record the trial again with it."""
    import getpass

    from posttrainbench.fileio import iso_now
    from posttrainbench.integrity import CHECKS
    from posttrainbench.results.reviews import append_review, read_reviews
    from posttrainbench.results.schema import Review

    check_choice("check", check, CHECKS)
    if not note.strip():
        raise PtbError("--note is required: say why")
    trial = Trial.open(run_dir)
    if not trial.done("audit"):
        raise PtbError(f"{run_dir} has no audit yet (run or resume the trial first)")
    read_reviews(trial.paths.reviews)  # a damaged history fails now, before anything is added to it
    append_review(trial.paths.reviews, Review(check=check, status=status, note=note.strip(),  # type: ignore[arg-type]
                                              reviewer=reviewer or getpass.getuser(), at=iso_now()))
    return trial.rerun(("record",))
