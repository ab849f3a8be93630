"""No isolation: the agent runs as a plain child process. For debugging only, and it says so."""

from __future__ import annotations

from pathlib import Path

from posttrainbench import registry
from posttrainbench.sandbox.base import KIND, LaunchSpec, Sandbox

WARNING = (
    "SANDBOX DISABLED (--sandbox none): the agent runs with your user's full access to this machine, "
    "can modify the shared HF cache and see other processes. Use only for debugging."
)


class NoSandbox(Sandbox):
    name = "none"
    isolates = False

    def wrap(self, spec: LaunchSpec) -> list[str]:
        return list(spec.argv)

    def agent_home(self, spec: LaunchSpec) -> Path:
        return spec.scratch / "tmp" / "home"


registry.register(KIND, "none", NoSandbox)
