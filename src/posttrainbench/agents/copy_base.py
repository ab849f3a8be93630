"""The ``copy-base`` agent: stores the base model unchanged as ``final_model``. The smoke-test agent."""

from __future__ import annotations

import sys
from typing import ClassVar

from posttrainbench.agents.base import Agent, AgentContext, register_agent

_COPY = (
    "import os, shutil\n"
    "shutil.copytree(os.environ['PTB_BASE_MODEL_PATH'], 'final_model', symlinks=False,\n"
    "                ignore=shutil.ignore_patterns('.git', '.cache'))\n"
    "print('copied', os.environ['PTB_BASE_MODEL'], 'to final_model')\n"
)


@register_agent
class CopyBaseAgent(Agent):
    name: ClassVar[str] = "copy-base"
    description: ClassVar[str] = "Copies the base model to final_model unchanged (a baseline and smoke test)"

    def command(self, ctx: AgentContext) -> list[str]:
        return [sys.executable, "-I", "-c", _COPY]
