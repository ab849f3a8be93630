"""What the four coding-agent CLIs (Claude Code, Codex, Gemini CLI, OpenCode) have in common.

A ``ScaffoldAgent`` declares its CLI (binary, npm package, pinned version), the credentials it may use, and
builds its command line, environment, home files, resume command and trace parser.

Credentials. Each declared ``Secret`` of agent ``A`` is looked up, first found wins, in
``PTB_<A>_<NAME>`` (for example ``PTB_CODEX_OPENAI_API_KEY``), then the file ``$PTB_SECRETS_DIR/<A>/<file>``,
then the host variable ``<NAME>`` itself. The agent's environment is built from scratch (see ``solve``), so
it holds only its own credentials. Every value found is also a string the harness redacts from the agent's
log and trace.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from posttrainbench import settings
from posttrainbench.agents.base import Agent, AgentContext
from posttrainbench.agents.prices import price_for
from posttrainbench.agents.trace import Trace
from posttrainbench.errors import PtbError

REPROMPT_MESSAGE = "You still have {hours}h {minutes}m remaining. Please continue improving your result and maximize performance."


@dataclass(frozen=True)
class Secret:
    name: str
    """The variable the CLI reads (or, with ``home_path``, the secret's name)."""
    file: str | None = None
    """File name in ``$PTB_SECRETS_DIR/<agent>/`` (default: ``name``)."""
    home_path: str | None = None
    """Where the secret goes as a file under the agent's ``$HOME`` instead of a variable (Codex ``auth.json``)."""


@dataclass(frozen=True)
class Credentials:
    env: dict[str, str]
    home_files: dict[str, str]

    @property
    def values(self) -> list[str]:
        """Strings to redact: variables' values and whole credential files."""
        return [value for value in (*self.env.values(), *self.home_files.values()) if len(value) >= 8]


class ScaffoldAgent(Agent):
    binary: ClassVar[str]
    npm_package: ClassVar[str]
    pinned_version: ClassVar[str]
    secrets: ClassVar[tuple[Secret, ...]]
    efforts: ClassVar[tuple[str, ...]] = ()
    """Accepted ``reasoning_effort`` values; empty when the CLI has no such setting."""

    def __init__(self, model: str | None = None, reasoning_effort: str | None = None, base_url: str | None = None,
                 reprompt: bool = False, reprompt_min_minutes: float = 30.0, max_reprompts: int | None = None):
        if not model:
            raise PtbError(f"agent {self.name!r} needs --agent-model (the model the scaffold runs)")
        if reasoning_effort is not None and reasoning_effort not in self.efforts:
            known = ", ".join(self.efforts) or "none: this CLI has no such setting"
            raise PtbError(f"agent {self.name!r}: unknown reasoning effort {reasoning_effort!r} (accepted: {known})")
        self.model = model
        self.reasoning_effort = reasoning_effort
        self.base_url = base_url
        self.reprompt = reprompt
        self.reprompt_min_minutes = reprompt_min_minutes
        self.max_reprompts = max_reprompts

    # -- what each scaffold declares ------------------------------------------------------------------

    def base_command(self) -> list[str]:
        """The CLI and its flags, without the prompt."""
        raise NotImplementedError

    def scaffold_env(self, ctx: AgentContext) -> dict[str, str]:
        """Settings (not credentials) the CLI reads from its environment."""
        return {}

    def config_files(self, ctx: AgentContext) -> dict[str, str]:
        """Files (not credentials) written under the agent's ``$HOME``, by path relative to it."""
        return {}

    def resume_command(self, message: str) -> list[str]:
        raise NotImplementedError

    @staticmethod
    def parse(text: str) -> Trace:
        raise NotImplementedError

    # -- the Agent interface ----------------------------------------------------------------------------

    def command(self, ctx: AgentContext) -> list[str]:
        return [*self.base_command(), ctx.prompt]

    def environment(self, ctx: AgentContext) -> dict[str, str]:
        return {**self.scaffold_env(ctx), **self.credentials().env}

    def home_files(self, ctx: AgentContext) -> dict[str, str]:
        return {**self.config_files(ctx), **self.credentials().home_files}

    def redactions(self) -> list[str]:
        return self.credentials().values

    def reprompt_command(self, remaining_seconds: float, resumes: int) -> list[str] | None:
        if not self.reprompt or remaining_seconds < self.reprompt_min_minutes * 60:
            return None
        if self.max_reprompts is not None and resumes >= self.max_reprompts:
            return None
        minutes = int(remaining_seconds // 60)
        return self.resume_command(REPROMPT_MESSAGE.format(hours=minutes // 60, minutes=minutes % 60))

    def parse_trace(self, text: str) -> Trace:
        return priced(self.parse(text), self.model)

    def describe(self) -> dict[str, object]:
        return {"model": self.model, "reasoning_effort": self.reasoning_effort, "base_url": self.base_url,
                "reprompt": self.reprompt, "max_reprompts": self.max_reprompts, "cli": self.binary, "pinned_version": self.pinned_version}

    @classmethod
    def credentials(cls) -> Credentials:
        env: dict[str, str] = {}
        files: dict[str, str] = {}
        for secret in cls.secrets:
            value = lookup_secret(cls.name, secret)
            if value is None:
                continue
            if secret.home_path:
                files[secret.home_path] = value
            else:
                env[secret.name] = value
        return Credentials(env, files)

    @classmethod
    def version(cls) -> str | None:
        path = shutil.which(cls.binary)
        if path is None:
            return None
        try:
            proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        found = re.search(r"\d+\.\d+\.\d+", proc.stdout + proc.stderr)
        return found.group(0) if found else None

    @classmethod
    def problem(cls) -> str | None:
        if shutil.which(cls.binary) is None:
            return f"`{cls.binary}` not on PATH (npm install -g {cls.npm_package}@{cls.pinned_version})"
        found = cls.credentials()
        if not found.env and not found.home_files:
            names = ", ".join(s.name for s in cls.secrets)
            return f"no credentials: set one of {names} (or PTB_{env_prefix(cls.name)}_<NAME>, or a file in $PTB_SECRETS_DIR/{cls.name}/)"
        return None

    @classmethod
    def version_note(cls) -> str | None:
        """A mismatch between the installed and the pinned CLI version, or None."""
        installed = cls.version()
        if installed is not None and installed != cls.pinned_version:
            return f"{cls.binary} {installed} installed, {cls.pinned_version} pinned: results may not be comparable"
        return None


def env_prefix(agent: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", agent.upper())


def lookup_secret(agent: str, secret: Secret) -> str | None:
    value = os.environ.get(f"PTB_{env_prefix(agent)}_{secret.name}")
    if value:
        return value
    directory = settings.secrets_dir()
    if directory is not None:
        path = Path(directory) / agent / (secret.file or secret.name)
        if path.is_file():
            text = path.read_text()
            return text if secret.home_path else text.strip()
    return os.environ.get(secret.name) or None


def priced(trace: Trace, model: str | None) -> Trace:
    """The trace with its model (``model`` where the trace names none) and where its cost comes from: the
    scaffold's own report, else the price table, else none."""
    trace.model = trace.model or model
    if trace.usage.cost_usd is not None:
        trace.cost_source = "scaffold"
    elif (price := price_for(trace.model)) is not None and (cost := price.cost(trace.usage)) is not None:
        trace.usage.cost_usd, trace.cost_source = cost, "price table"
    return trace
