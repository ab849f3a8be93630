"""The ``command`` agent: a user-given shell command acts as the agent (prompt in $PTB_PROMPT and a file)."""

from __future__ import annotations

from typing import ClassVar

from posttrainbench.agents.base import Agent, AgentContext, register_agent
from posttrainbench.errors import PtbError


@register_agent
class CommandAgent(Agent):
    name: ClassVar[str] = "command"
    description: ClassVar[str] = "Runs --agent-command in bash as the agent; for custom scaffolds and scripted tests"

    def __init__(self, command: str | None = None):
        if not command:
            raise PtbError("agent 'command' needs --agent-command 'CMD'")
        self.shell_command = command

    def command(self, ctx: AgentContext) -> list[str]:
        # The user gives a shell command line on purpose: bash interprets it, nothing else does.
        return ["bash", "-c", self.shell_command]
