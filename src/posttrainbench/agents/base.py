"""The agent interface: an agent turns a trial's context into the command that runs the scaffold."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from posttrainbench import registry
from posttrainbench.errors import PtbError
from posttrainbench.agents.trace import Trace

KIND = "agent"


@dataclass(frozen=True)
class AgentContext:
    """What an agent may know about its trial, with paths as the agent sees them."""

    workspace: Path
    prompt: str
    prompt_file: Path
    base_model: str
    base_model_path: Path
    benchmark: str
    hours: float


class Agent(ABC):
    """One scaffold. Only ``command`` is required; the rest are hooks with safe defaults."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    required_env: ClassVar[tuple[str, ...]] = ()
    """Host variables (credentials) this agent, and only this agent, receives."""
    prompt_note: ClassVar[str | None] = None
    """A paragraph the built-in prompt ends with for this agent alone (a habit of its own to guard against)."""

    def __init__(self, **kwargs: Any):
        if kwargs:
            raise TypeError(f"agent {self.name!r} takes no options, got {sorted(kwargs)}")

    @abstractmethod
    def command(self, ctx: AgentContext) -> list[str]:
        """The argv that runs the agent in its workspace."""

    def version(self) -> str | None:
        """Version of the scaffold CLI, where there is one."""
        return None

    def problem(self) -> str | None:
        """Why this agent cannot run here (missing CLI, credentials), or None."""
        return None

    def version_note(self) -> str | None:
        """A warning about the installed CLI's version, or None."""
        return None

    def environment(self, ctx: AgentContext) -> dict[str, str]:
        """Variables this agent gets on top of the harness's allowlist (its settings and credentials)."""
        return {}

    def home_files(self, ctx: AgentContext) -> dict[str, str]:
        """Files to write under the agent's ``$HOME`` before it starts, by relative path."""
        return {}

    def readable_paths(self) -> list[Path]:
        """Host folders the agent reads inside the sandbox (read-only), such as local training data."""
        return []

    def redactions(self) -> list[str]:
        """Secret strings that must never appear in the agent's log, trace or results."""
        return []

    def reprompt_command(self, remaining_seconds: float, resumes: int) -> list[str] | None:
        """The command that resumes the agent's session after it stopped early (``resumes`` times so far), or
        None to let it stop."""
        return None

    def parse_trace(self, text: str) -> Trace | None:
        """The agent's output log as common events, or None for agents without a structured trace."""
        return None

    def describe(self) -> dict[str, object]:
        """Settings recorded in the trial's results."""
        return {}


def register_agent(cls: type[Agent]) -> type[Agent]:
    return registry.register(KIND, cls.name, cls)


def agent_prompt_note(name: str) -> str | None:
    """The registered agent's own note for the built-in prompt; None for an agent that has none or is unknown."""
    try:
        return registry.lookup(KIND, name).prompt_note
    except registry.UnknownNameError:
        return None


def create_agent(name: str, **kwargs: Any) -> Agent:
    cls = registry.lookup(KIND, name)
    try:
        return cls(**kwargs)  # type: ignore[no-any-return]
    except TypeError as error:  # an option this agent does not take
        raise PtbError(f"agent {name!r}: {error}") from None


def agent_names() -> list[str]:
    return registry.names(KIND)
