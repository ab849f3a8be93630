"""Where the agent runs: bubblewrap (the default on Linux), a container (apptainer, podman, docker), or none
(explicit opt-in, no isolation)."""

from posttrainbench.sandbox.base import LaunchSpec, Sandbox, get_sandbox, sandbox_names
from posttrainbench.sandbox import bubblewrap as _bubblewrap  # noqa: F401  (registers)
from posttrainbench.sandbox import none as _none  # noqa: F401  (registers)
from posttrainbench.sandbox import container as _container  # noqa: F401  (registers)

__all__ = ["LaunchSpec", "Sandbox", "get_sandbox", "sandbox_names"]
