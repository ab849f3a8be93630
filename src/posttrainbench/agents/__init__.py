"""Agents: one module per scaffold, each registered by name."""

from posttrainbench.agents.base import Agent, AgentContext, agent_names, agent_prompt_note, create_agent, register_agent
from posttrainbench.agents import command as _command  # noqa: F401  (registers)
from posttrainbench.agents import copy_base as _copy_base  # noqa: F401  (registers)
from posttrainbench.agents import reference as _reference  # noqa: F401  (registers)
from posttrainbench.agents import claude_code as _claude_code  # noqa: F401  (registers)
from posttrainbench.agents import codex as _codex  # noqa: F401  (registers)
from posttrainbench.agents import gemini_cli as _gemini_cli  # noqa: F401  (registers)
from posttrainbench.agents import opencode as _opencode  # noqa: F401  (registers)

__all__ = ["Agent", "AgentContext", "agent_names", "agent_prompt_note", "create_agent", "register_agent"]
