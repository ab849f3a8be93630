"""An experiment: a TOML file that declares a matrix of trials (agents x models x benchmarks x seeds) and the
executor that runs them. ``expand`` turns it into one ``TrialConfig`` per trial, each with a run id made of
the experiment's name and the trial's coordinates, so that submitting again finds the same run directories
and never runs a finished trial twice.

A full leaderboard row for one agent::

    name = "claude-opus-row"
    hours = 10
    seeds = [0, 1, 2]
    models = ["Qwen/Qwen3-1.7B-Base", "Qwen/Qwen3-4B-Base", "HuggingFaceTB/SmolLM3-3B-Base", "google/gemma-3-4b-pt"]
    benchmarks = "all"

    [[agents]]
    agent = "claude"
    label = "Claude Code, Opus"
    args = { model = "claude-opus-4-5", reprompt = true }

    [executor]
    kind = "slurm"
    partition = "gpu"
    cpus = 16
    memory = "128G"
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from posttrainbench.config import EvalOverrides, SandboxName, TrialConfig
from posttrainbench.errors import PtbError, one_line

ExecutorKind = Literal["local", "slurm", "htcondor"]


class AgentEntry(BaseModel):
    """One agent of the matrix: a registered agent with its arguments (one leaderboard row each)."""

    model_config = ConfigDict(extra="forbid")

    agent: str = Field(description="Registered agent name (ptb agents)")
    label: str | None = Field(default=None, description="Leaderboard row name (default: the agent name)")
    args: dict[str, Any] = Field(default_factory=dict, description="The agent's arguments: model, reasoning_effort, reprompt, command, ...")
    concurrency_limits: list[str] = Field(default_factory=list, description="htcondor: this agent's own limits, e.g. [\"user.gemini:1250\"] (the original's Gemini throttle)")


class LocalModel(BaseModel):
    """A base model from a local folder instead of a catalog id."""

    model_config = ConfigDict(extra="forbid")

    path: str
    family: str


class ExecutorOptions(BaseModel):
    """Where and how the trials run. Options an executor does not use are ignored by it."""

    model_config = ConfigDict(extra="forbid")

    kind: ExecutorKind = "local"
    gpus: list[str] | None = Field(default=None, description="local: the GPUs to hand out, one per trial (default: CUDA_VISIBLE_DEVICES, else nvidia-smi's list)")
    max_parallel: int | None = Field(default=None, ge=1, description="local: trials at once (default: one per GPU; 1 on a CPU-only experiment)")
    partition: str | None = Field(default=None, description="slurm: partition")
    account: str | None = Field(default=None, description="slurm: account to charge")
    qos: str | None = Field(default=None, description="slurm: quality of service")
    gpu_type: str | None = Field(default=None, description="slurm: GRES type (gpu:<type>:N); htcondor: a requirement on the GPU's device name")
    cpus: int = Field(default=16, ge=1, description="CPU cores per trial")
    memory: str = Field(default="128G", description="Memory per trial (K, M, G, T suffixes)")
    disk: str | None = Field(default="200G", description="Scratch disk per trial (slurm --tmp, htcondor request_disk)")
    evaluation_hours: float = Field(default=2.0, ge=0, description="Time allowed after the agent's budget for collect, audit and the final evaluation")
    extra: list[str] = Field(default_factory=list, description="slurm: more #SBATCH options, as written on sbatch's command line")
    python: str | None = Field(default=None, description="The Python that runs ptb on the compute nodes (default: the one running ptb submit)")
    concurrency_limits: list[str] = Field(default_factory=list, description="htcondor: concurrency_limits, e.g. the original's GEMINI_API:1 throttle")

    @field_validator("memory", "disk")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d+[KMGT]?", value):
            raise ValueError(f"{value!r} is not a size like 128G")
        return value


class Experiment(BaseModel):
    """The experiment file's content (every key is documented here and in the README)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Names the run directories: <name>_<benchmark>_<model>_<agent>_s<seed>")
    agents: list[AgentEntry] = Field(min_length=1)
    models: list[str | LocalModel] = Field(min_length=1, description="Catalog ids, or {path, family} tables")
    benchmarks: list[str] | Literal["all"] = Field(description="Benchmark ids, or \"all\"")
    seeds: list[int] = Field(default=[0], min_length=1)
    hours: float = Field(gt=0, description="The agent's time budget per trial")
    grace_minutes: float = Field(default=5, ge=0)
    gpus_per_trial: int = Field(default=1, ge=0, description="0 for CPU trials (device = \"cpu\")")
    device: Literal["cuda", "cpu"] = "cuda"
    sandbox: SandboxName = "bubblewrap"
    container_image: str | None = Field(default=None, description="apptainer, podman, docker: the agent's image")
    network: bool = True
    results: str | None = Field(default=None, description="Results folder (default: PTB_RESULTS, else ./results); relative to the file")
    prompt_file: str | None = Field(default=None, description="Own prompt template, relative to the file")
    evaluation: EvalOverrides = Field(default_factory=EvalOverrides)
    audit_judge_model: str | None = None
    audit_judge_runs: int = Field(default=1, ge=1)
    executor: ExecutorOptions = Field(default_factory=ExecutorOptions)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value):
            raise ValueError(f"{value!r}: use letters, digits, '.', '_' and '-' (it names run directories)")
        return value


def load_experiment(path: Path) -> tuple[Experiment, Path]:
    """The experiment and the folder its relative paths are resolved against; bad files are one-line errors."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as error:
        raise PtbError(f"cannot read experiment {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PtbError(f"experiment {path} is not valid TOML: {error}") from None
    try:
        return Experiment.model_validate(data), path.resolve().parent
    except ValidationError as error:
        raise PtbError(f"experiment {path}: {one_line(error)}") from None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


def expand(experiment: Experiment, base: Path) -> list[TrialConfig]:
    """One validated trial config per (agent, model, benchmark, seed), in that order."""
    from posttrainbench import api
    from posttrainbench.evaluation.benchmarks import all_benchmarks

    benchmarks = [b.id for b in all_benchmarks()] if experiment.benchmarks == "all" else experiment.benchmarks
    prompt = (base / experiment.prompt_file).resolve() if experiment.prompt_file else None
    evaluation = experiment.evaluation
    if evaluation.data is not None and not Path(evaluation.data).is_absolute():
        evaluation = evaluation.model_copy(update={"data": str((base / evaluation.data).resolve())})
    configs = []
    for entry in experiment.agents:
        for model in experiment.models:
            name, family = (model, None) if isinstance(model, str) else (str((base / model.path).resolve()), model.family)
            for benchmark in benchmarks:
                for seed in experiment.seeds:
                    config = api.make_config(
                        agent=entry.agent, agent_args=entry.args, label=entry.label, model=name, family=family, benchmark=benchmark,
                        hours=experiment.hours, grace_minutes=experiment.grace_minutes, seed=seed, sandbox=experiment.sandbox,
                        container_image=experiment.container_image, network=experiment.network, device=experiment.device, prompt_file=prompt, evaluation=evaluation,
                        audit_judge_model=experiment.audit_judge_model, audit_judge_runs=experiment.audit_judge_runs, run_id="pending")
                    agent_name = _slug(entry.label or entry.agent)
                    run_id = f"{experiment.name}_{benchmark}_{_slug(config.model.id.rsplit('/', 1)[-1])}_{agent_name}_s{seed}"
                    configs.append(config.model_copy(update={"run_id": run_id, "num_gpus": experiment.gpus_per_trial}))
    ids = [c.run_id for c in configs]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise PtbError(f"experiment {experiment.name}: two trials would share the run id {duplicate} (give the agents distinct labels)")
    return configs


def results_folder(experiment: Experiment, base: Path) -> Path | None:
    return (base / experiment.results) if experiment.results else None


def agent_entry(experiment: Experiment, config: TrialConfig) -> AgentEntry:
    """The agent table a trial of the experiment came from."""
    return next(entry for entry in experiment.agents if entry.agent == config.agent and entry.label == config.label)
