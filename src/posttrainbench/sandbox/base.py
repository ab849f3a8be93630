"""The sandbox interface: turn an agent command into the argv that runs it isolated."""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from posttrainbench import registry

KIND = "sandbox"


@dataclass
class LaunchSpec:
    """What a sandbox needs to know to run one agent process."""

    argv: list[str]
    workspace: Path
    scratch: Path
    """Private, disposable directory for this launch: sandbox layers, the agent's /tmp and home."""
    hf_home: Path
    network: bool = True
    hidden: list[Path] = field(default_factory=list)
    """Host paths the agent must not see (results root, secrets directory)."""
    readonly: list[Path] = field(default_factory=list)
    """Host directories the agent reads but cannot change (the base model when it is not in the HF cache)."""
    search_path: str | None = None
    """The $PATH the agent runs with: where the sandbox finds the program in ``argv[0]`` to keep it reachable."""
    env: dict[str, str] = field(default_factory=dict)
    """The agent's environment (the process gets it; container sandboxes pass these names on into the container)."""

    @property
    def home(self) -> Path:
        """The agent's $HOME as seen from inside the sandbox."""
        return Path("/tmp/home")


class Sandbox(ABC):
    """One isolation backend. Subclasses fill ``wrap``; ``cleanup`` removes the scratch layers."""

    name: str = ""
    isolates: bool = True

    def __init__(self, image: str | None = None):
        self.image = image
        """The container image (container sandboxes only)."""

    @abstractmethod
    def wrap(self, spec: LaunchSpec) -> list[str]:
        """Return the argv that runs ``spec.argv`` inside this sandbox (the env is passed by the caller)."""

    def agent_home(self, spec: LaunchSpec) -> Path:
        """The directory to pass as $HOME to the agent (as it sees it)."""
        return spec.home

    def prepare_scratch(self, spec: LaunchSpec) -> None:
        (spec.scratch / "tmp" / "home").mkdir(parents=True, exist_ok=True)

    def cleanup(self, spec: LaunchSpec) -> None:
        shutil.rmtree(spec.scratch, ignore_errors=True)

    def cache_additions(self, spec: LaunchSpec) -> Path | None:
        """The folder holding what the agent added to the HF cache during this launch (until ``cleanup``), where
        the sandbox keeps it apart from the shared cache; None otherwise."""
        return None

    def problem(self) -> str | None:
        """Why this sandbox cannot run here, or None when it can."""
        return None

    def launch_failure(self, first_line: str) -> str | None:
        """Why the sandbox itself could not start the agent, judged by the first line of a launch that
        failed; None when the failure is the agent's own."""
        return None


def get_sandbox(name: str, image: str | None = None) -> Sandbox:
    factory = registry.lookup(KIND, name)
    return factory(image)  # type: ignore[no-any-return]


def sandbox_names() -> list[str]:
    return registry.names(KIND)
