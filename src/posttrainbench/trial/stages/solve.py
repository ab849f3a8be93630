"""Stage solve: run the agent in its sandbox until it exits or its hard deadline passes."""

from __future__ import annotations

import functools
import os
import shutil
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from posttrainbench import settings
from posttrainbench.agents import AgentContext
from posttrainbench.config import TrialConfig
from posttrainbench.errors import PtbError, StageError
from posttrainbench.evaluation.benchmarks import get_benchmark
from posttrainbench.integrity.judge_proxy import JudgeProxy
from posttrainbench.fileio import iso_now, read_json, write_json_atomic
from posttrainbench.monitor import SystemMonitor
from posttrainbench.process import ExitInfo, run_with_deadline
from posttrainbench.results.schema import Reprompt, SolveRecord
from posttrainbench.sandbox import LaunchSpec, Sandbox
from posttrainbench.trial.context import Context
from posttrainbench.trial.paths import RunPaths
from posttrainbench.trial.stages.prepare import PROMPT_FILE, write_deadline
from posttrainbench.integrity.files import WEIGHT_SUFFIXES

# Host variables any agent may see; credentials come only through the agent's declared names.
ENV_ALLOWLIST = (
    "PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TERM", "TZ",
    "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES", "LD_LIBRARY_PATH", "CUDA_HOME",
    "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
)


def agent_env(config: TrialConfig, declared: tuple[str, ...], home: Path, tmp: Path, prompt: str, prompt_file: Path) -> dict[str, str]:
    """The agent's whole environment: the allowlist, its declared variables, and the trial's PTB_* facts."""
    names = (*ENV_ALLOWLIST, *declared, *config.pass_env)
    env = {name: os.environ[name] for name in names if name in os.environ}
    env.update(
        # The harness's own interpreter first: `python` in the sandbox is the one with torch and transformers.
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)]),
        HOME=str(home),
        TMPDIR=str(tmp),
        HF_HOME=str(settings.hf_home()),
        PTB_PROMPT=prompt,
        PTB_PROMPT_FILE=str(prompt_file),
        PTB_BASE_MODEL=config.model.id,
        PTB_BASE_MODEL_PATH=config.model.path,
        PTB_BENCHMARK=config.benchmark,
        PTB_HOURS=f"{config.hours:g}",
    )
    return env


def _hidden_paths(paths: RunPaths) -> list[Path]:
    hidden = [paths.root.parent.resolve()]
    secrets = settings.secrets_dir()
    if secrets is not None:
        hidden.append(secrets.resolve())
    return hidden


def _readonly_paths(config: TrialConfig) -> list[Path]:
    model = Path(config.model.path).resolve()
    return [] if model.is_relative_to(settings.hf_home().resolve()) else [model]


def run(context: Context) -> SolveRecord:
    """Run (or, after a crash, continue) the agent; return how it ended."""
    config, paths = context.config, context.paths
    state_file = paths.stage_started("solve")
    if state_file.exists():
        state = read_json(state_file)
    else:
        now = time.time()
        deadline = now + config.hours * 3600
        state = {"started_at": iso_now(), "deadline": deadline, "hard_deadline": deadline + config.grace_minutes * 60, "segments": []}
        write_deadline(paths, deadline)
        write_json_atomic(state_file, state)
    segments = state["segments"]
    if segments and segments[-1]["reason"] == "running":
        # The harness died while the agent ran: that launch ended at its last sign of life.
        segments[-1] = {**segments[-1], "reason": "interrupted", "wall_seconds": _last_sign_of_life(paths) - segments[-1]["start"]}
    if not segments or segments[-1]["reason"] == "interrupted":
        if time.time() < state["hard_deadline"]:
            segments.append({"reason": "running", "start": time.time(), "wall_seconds": 0.0})
            write_json_atomic(state_file, state)
            info = _launch(context, state, segment=len(segments) - 1)
            segments[-1] = {"start": segments[-1]["start"], **info.to_dict()}
    write_json_atomic(state_file, state)
    last = segments[-1]
    return SolveRecord(
        reason=last["reason"], exit_code=last.get("exit_code"), signal=last.get("signal"),
        wall_seconds=round(sum(s["wall_seconds"] for s in segments), 3), budget_seconds=config.hours * 3600,
        segments=len(segments), started_at=state["started_at"], ended_at=iso_now(), sandbox=config.sandbox,
        agent_settings=context.agent.describe(), reprompts=[Reprompt(**r) for r in state.get("reprompts", [])],
    )


def _scratch(config: TrialConfig, segment: int) -> Path:
    return settings.scratch_dir() / f"ptb-{config.run_id}-{segment}"


def _last_sign_of_life(paths: RunPaths) -> float:
    times = [path.stat().st_mtime for path in (paths.output_log, paths.monitor, paths.stage_started("solve")) if path.exists()]
    return max(times)


def _launch(context: Context, state: dict[str, Any], segment: int) -> ExitInfo:
    config, paths, sandbox, agent = context.config, context.paths, context.sandbox, context.agent
    for earlier in range(segment):  # layers left behind by a launch whose harness was killed
        shutil.rmtree(_scratch(config, earlier), ignore_errors=True)
    scratch = _scratch(config, segment)
    spec = LaunchSpec(
        argv=[],
        workspace=paths.workspace.resolve(),
        scratch=scratch,
        hf_home=settings.hf_home().resolve(),
        network=config.network,
        hidden=_hidden_paths(paths),
        readonly=[*_readonly_paths(config), *agent.readable_paths()],
    )
    prompt = paths.prompt.read_text()
    prompt_file = spec.workspace / PROMPT_FILE
    ctx = AgentContext(
        workspace=spec.workspace, prompt=prompt, prompt_file=prompt_file, base_model=config.model.id,
        base_model_path=Path(config.model.path), benchmark=config.benchmark, hours=config.hours,
    )
    spec.argv = agent.command(ctx)
    sandbox.prepare_scratch(spec)
    home = sandbox.agent_home(spec)
    env = {**agent_env(config, agent.required_env, home, home.parent, prompt, prompt_file), **agent.environment(ctx)}
    spec.search_path = env.get("PATH")
    spec.env = env
    _write_home_files(scratch / "tmp" / "home", agent.home_files(ctx))
    paths.agent_dir.mkdir(parents=True, exist_ok=True)
    paths.agent_prompt.write_text(prompt)
    if not sandbox.isolates:
        _note(paths, "WARNING: --sandbox none: the agent runs without isolation")
    proxy = judge_proxy(config, paths)
    try:
        with SystemMonitor(paths.monitor, paths.workspace, settings.monitor_interval()), proxy.running() if proxy else nullcontext():
            if proxy:
                env.update(proxy.environment())
            run = functools.partial(_run_in_sandbox, sandbox, spec, env=env, cwd=spec.workspace, log=paths.output_log,
                                    deadline=state["hard_deadline"], redact=agent.redactions())
            info = run()
            while info.reason == "normal" and (argv := agent.reprompt_command(state["deadline"] - time.time(), len(state.get("reprompts", [])))) is not None:
                _note_reprompt(paths, state, argv)
                spec.argv = argv
                resumed = run()
                info = ExitInfo(resumed.reason, resumed.exit_code, resumed.signal, info.wall_seconds + resumed.wall_seconds)
            return info
    finally:
        keep_cache_additions(sandbox.cache_additions(spec), paths.hf_cache_added)
        sandbox.cleanup(spec)


def keep_cache_additions(layer: Path | None, target: Path) -> None:
    """Move the files the agent added to the HF cache into the run directory, for the audit (weight files
    stay behind: the audit reads text; overlay markers of deleted files are not files and stay too)."""
    if layer is None or not layer.is_dir():
        return
    # the hub keeps files as blobs named by hash, linked from snapshots/ under their real names
    weights = {(link.parent / os.readlink(link)).resolve() for link in layer.rglob("*")
               if link.is_symlink() and link.name.endswith(WEIGHT_SUFFIXES)}
    for path in layer.rglob("*"):
        if path.is_file() and not path.is_symlink() and not path.name.endswith(WEIGHT_SUFFIXES) and path.resolve() not in weights:
            destination = target / path.relative_to(layer)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, destination)


def judge_proxy(config: TrialConfig, paths: RunPaths) -> JudgeProxy | None:
    """The judge proxy of a judged benchmark, where the host has the judge's key; None otherwise (then the
    agent's evaluate.py cannot grade, and its log says why)."""
    benchmark = get_benchmark(config.benchmark)
    if not benchmark.judged or benchmark.grading_shapes is None:
        return None
    if not config.network:
        _note(paths, "no judge for the agent's evaluate.py: the sandbox has no network, so the judge proxy on the host's loopback is out of reach")
        return None
    evaluation = config.evaluation
    upstream = evaluation.judge_settings()
    try:
        upstream.api_key()
        shapes = benchmark.grading_shapes(Path(evaluation.data) if evaluation.data else None)
    except PtbError as error:
        _note(paths, f"no judge for the agent's evaluate.py: {error}")
        return None
    return JudgeProxy(upstream, shapes, paths.judge_proxy)


def _note(paths: RunPaths, line: str) -> None:
    """A line of the harness's own in the agent's log."""
    paths.agent_dir.mkdir(parents=True, exist_ok=True)
    with open(paths.output_log, "a") as log:
        log.write(f"[{iso_now()}] ptb: {line}\n")


def _run_in_sandbox(sandbox: Sandbox, spec: LaunchSpec, *, log: Path, **options: Any) -> ExitInfo:
    """Run the agent; a sandbox that could not start it fails the stage with its reason (not the agent's failure)."""
    offset = log.stat().st_size if log.exists() else 0
    info = run_with_deadline(sandbox.wrap(spec), log=log, **options)
    if info.reason == "error":
        with open(log, "rb") as handle:
            handle.seek(offset)
            first = handle.readline().decode(errors="replace").rstrip("\n")
        why = sandbox.launch_failure(first.split("] ", 1)[-1])
        if why is not None:
            raise StageError("solve", f"the {sandbox.name} sandbox could not start the agent ({spec.argv[0]}): {why}", log=log)
    return info


def _write_home_files(home: Path, files: dict[str, str]) -> None:
    """Config and credential files the agent's CLI reads from its home (gone with the launch's scratch)."""
    for relative, content in files.items():
        path = home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        path.chmod(0o600)


def _note_reprompt(paths: RunPaths, state: dict[str, Any], argv: list[str]) -> None:
    remaining = max(0.0, state["deadline"] - time.time())
    state.setdefault("reprompts", []).append({"at": iso_now(), "remaining_seconds": round(remaining, 1), "message": argv[-1]})
    write_json_atomic(paths.stage_started("solve"), state)
    _note(paths, f"the agent stopped with {remaining / 60:.1f} min left; resuming it")
