"""The agent interface: an agent turns a trial's context into the command that runs the scaffold."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from posttrainbench import registry

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


def register_agent(cls: type[Agent]) -> type[Agent]:
    return registry.register(KIND, cls.name, cls)


def create_agent(name: str, **kwargs: Any) -> Agent:
    cls = registry.lookup(KIND, name)
    return cls(**kwargs)  # type: ignore[no-any-return]


def agent_names() -> list[str]:
    return registry.names(KIND)
