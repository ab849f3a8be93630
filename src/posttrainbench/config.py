"""The resolved configuration of one trial; saved as ``config.json`` and the only input of ``ptb resume``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from posttrainbench.evaluation.judge import JudgeSettings

SandboxName = Literal["bubblewrap", "apptainer", "podman", "docker", "none"]
Device = Literal["cpu", "cuda"]


class ModelSpec(BaseModel):
    """The base model of a trial: a catalog id resolved in the HF cache, or a local directory."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Catalog id (e.g. Qwen/Qwen3-1.7B-Base) or a display name for a local model")
    path: str = Field(description="Directory holding the weights the agent starts from")
    family: str = Field(description="Model family: selects the evaluator's fixed chat template")
    instruct: str | None = Field(default=None, description="Instruct counterpart the agent must not submit")


class EvalOverrides(BaseModel):
    """How the final evaluation runs: deviations from the protocol (limit, caps, data; recorded, not
    comparable) and settings that do not change scores (backend, profile, judge endpoint)."""

    model_config = ConfigDict(extra="forbid")

    limit: int | None = Field(default=None, description="Evaluate only the first N samples (None: full set)")
    max_tokens: list[int] | None = Field(default=None, description="Token caps to try instead of the ladder")
    data: str | None = Field(default=None, description="Local data in the benchmark's schema instead of the pinned source")
    backend: str = Field(default="auto", description="Evaluation backend: auto, hf or vllm")
    profile: str = Field(default="fast", description="Backend settings profile: fast or upstream (same scores)")
    judge_base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint of the LLM judge")
    judge_model: str | None = Field(default=None, description="Judge model (default gpt-5-mini)")
    judge_api_key_env: str = Field(default="OPENAI_API_KEY", description="Variable holding the judge's API key")
    judge_max_failure_rate: float = Field(default=0.0, ge=0, le=1, description="Tolerated share of failed gradings")
    attempt_timeout_s: float = Field(default=8 * 3600, description="Wall-clock limit of one evaluation attempt")
    repeats: int = Field(default=1, ge=1, description="Whole evaluations with consecutive seeds; the score is their mean")
    choice_seed: int | None = Field(default=None, ge=0, description="GPQA option shuffle seed (None: drawn per evaluation, as the original)")
    chat_template: Literal["upstream", "project"] | None = Field(default=None, description="upstream (the original's template files) or project (this project's own; not comparable); None: PTB_CHAT_TEMPLATE, else upstream")


    def judge_settings(self, model: str | None = None, **settings: Any) -> JudgeSettings:
        """The LLM judge these settings name (``model`` instead of ``judge_model``, e.g. the audit's)."""
        from posttrainbench.evaluation.judge import JudgeSettings

        return JudgeSettings.of(self.judge_base_url, model or self.judge_model, api_key_env=self.judge_api_key_env,
                                max_failure_rate=self.judge_max_failure_rate, **settings)


class TrialConfig(BaseModel):
    """Everything that defines one trial. Identity lives here, never in directory names."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    run_id: str
    agent: str = Field(description="Registered agent name")
    label: str | None = Field(default=None, description="Leaderboard row name (default: the agent name)")
    agent_args: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments of the agent")
    model: ModelSpec
    benchmark: str
    hours: float = Field(gt=0, description="The agent's time budget")
    grace_minutes: float = Field(default=5, ge=0, description="Extra time before the hard kill")
    seed: int = 0
    sandbox: SandboxName = "bubblewrap"
    container_image: str | None = Field(default=None, description="apptainer, podman, docker: the agent's image (a .sif file, or an image reference)")
    network: bool = True
    device: Device = "cuda"
    num_gpus: int = 1
    prompt_template: str | None = Field(default=None, description="Prompt template text (None: the built-in one)")
    evaluation: EvalOverrides = Field(default_factory=EvalOverrides)
    pass_env: list[str] = Field(default_factory=list, description="Extra host variables the agent may see")
    audit_judge_model: str | None = Field(default=None, description="LLM judge of the audit, on the evaluation judge's endpoint and key (None: deterministic checks only)")
    audit_judge_runs: int = Field(default=1, ge=1, description="Audit judge runs per check; a strict majority decides")

    def identity(self) -> str:
        """Short digest of the config; resume refuses a run directory whose config differs."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def save(self, path: Path) -> None:
        from posttrainbench.fileio import write_json_atomic

        write_json_atomic(path, self.model_dump(mode="json"))

    @classmethod
    def load(cls, path: Path) -> TrialConfig:
        from posttrainbench.fileio import read_model

        return read_model(path, cls)
