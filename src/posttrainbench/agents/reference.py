"""The ``reference`` agent: a fixed, human-written post-training baseline that needs no API key. It runs
``agents/reference_recipe.py`` (supervised fine-tuning with TRL on allowed public data, checkpoint chosen on
a held-out split, stopped by the workspace's timer) in the same sandbox and budget as any agent."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from typing import ClassVar

from posttrainbench.agents.base import Agent, AgentContext, register_agent
from posttrainbench.errors import PtbError


@register_agent
class ReferenceAgent(Agent):
    name: ClassVar[str] = "reference"
    description: ClassVar[str] = "Scripted SFT baseline (TRL) on allowed public data; no API key (see README, Reference agent)"

    def __init__(self, data: str | None = None, max_steps: int | None = None, method: str = "auto", max_length: int | None = None,
                 batch_size: int | None = None, learning_rate: float | None = None, compile: str = "auto",
                 gradient_checkpointing: str = "auto", evaluations: int | None = None):
        for option, value, allowed in (("method", method, ("auto", "full", "lora")), ("compile", compile, ("auto", "on", "off")),
                                       ("gradient_checkpointing", gradient_checkpointing, ("auto", "on", "off"))):
            if value not in allowed:
                raise PtbError(f"agent 'reference': {option} must be {', '.join(allowed[:-1])} or {allowed[-1]}, got {value!r}")
        for option, number in (("max_steps", max_steps), ("max_length", max_length), ("batch_size", batch_size), ("evaluations", evaluations)):
            if number is not None and (not isinstance(number, int) or number < 1):
                raise PtbError(f"agent 'reference': {option} must be a whole number of at least 1, got {number!r}")
        if learning_rate is not None and (isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float))
                                          or not math.isfinite(learning_rate) or learning_rate <= 0):
            raise PtbError(f"agent 'reference': learning_rate must be a number above 0, got {learning_rate!r}")
        if data is not None and not str(data).strip():
            raise PtbError("agent 'reference': data must name a folder of <source>.jsonl files (leave it out to read the Hub)")
        self.data = Path(str(data)).expanduser().resolve() if data is not None else None  # str: a folder may be named 123
        if self.data is not None and not self.data.is_dir():
            raise PtbError(f"agent 'reference': data {self.data} " + ("is a file, not a folder of <source>.jsonl files" if self.data.exists() else "does not exist"))
        self.max_steps, self.method, self.max_length, self.batch_size, self.learning_rate = max_steps, method, max_length, batch_size, learning_rate
        self.compile, self.gradient_checkpointing, self.evaluations = compile, gradient_checkpointing, evaluations

    def command(self, ctx: AgentContext) -> list[str]:
        argv = [sys.executable, "-m", "posttrainbench.agents.reference_recipe", "--benchmark", ctx.benchmark,
                "--base-model", str(ctx.base_model_path), "--hours", str(ctx.hours), "--method", self.method,
                "--compile", self.compile, "--gradient-checkpointing", self.gradient_checkpointing]
        for flag, value in (("--data", self.data), ("--max-steps", self.max_steps), ("--max-length", self.max_length),
                            ("--batch-size", self.batch_size), ("--learning-rate", self.learning_rate), ("--evaluations", self.evaluations)):
            if value is not None:
                argv += [flag, str(value)]
        return argv

    def readable_paths(self) -> list[Path]:
        return [self.data] if self.data is not None else []

    def problem(self) -> str | None:
        missing = [name for name in ("trl", "peft", "datasets") if importlib.util.find_spec(name) is None]
        return f"{', '.join(missing)} not installed (pip install 'posttrainbench[hf]')" if missing else None

    def describe(self) -> dict[str, object]:
        return {"data": str(self.data) if self.data else "the Hub", "max_steps": self.max_steps, "method": self.method,
                "compile": self.compile, "gradient_checkpointing": self.gradient_checkpointing}
