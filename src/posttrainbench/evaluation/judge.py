"""An LLM judge behind any OpenAI-compatible Chat Completions endpoint, for the judged benchmarks.

Each judgment is one request. A reply that cannot be parsed counts as a failed attempt, like a network
error or an HTTP error; attempts back off exponentially. A judgment that fails every attempt raises
``JudgeError``: it is never turned into a silent zero. Whether the evaluation then fails (so the ladder
retries it) or carries on with that grading counted as failed is the benchmark's decision, made from
``JudgeSettings.max_failure_rate``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from posttrainbench.errors import PtbError

T = TypeVar("T")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-5-mini"
REASONING_PREFIXES = ("gpt-5", "o1", "o3", "o4")
USAGE_KEYS = ("input_tokens", "output_tokens")


class JudgeError(Exception):
    """A judgment failed every attempt."""


@dataclass(frozen=True)
class JudgeSettings:
    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 64
    """Requests in flight at once, over the whole evaluation."""
    attempts: int = 5
    backoff_s: float = 2.0
    """Wait before the second attempt; doubles after each further failure."""
    timeout_s: float = 300.0
    max_failure_rate: float = 0.0
    """Share of gradings allowed to fail every attempt before the evaluation fails (0: none)."""

    @classmethod
    def of(cls, base_url: str | None = None, model: str | None = None, **settings: Any) -> JudgeSettings:
        """Settings from options where None means the default endpoint or model."""
        return cls(base_url=base_url or DEFAULT_BASE_URL, model=model or DEFAULT_MODEL, **settings)

    def api_key(self) -> str:
        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise PtbError(f"the judge needs an API key in ${self.api_key_env} (or pass --judge-api-key-env NAME)")
        return key

    def describe(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model, "attempts": self.attempts,
                "concurrency": self.concurrency, "max_failure_rate": self.max_failure_rate}


@dataclass(frozen=True)
class MessageShape:
    """One message of a grading request: its role and the fixed text of the judge prompt around what the
    evaluator fills in (``exact``: the whole content is fixed, as a system prompt is)."""

    role: str
    head: str
    tail: str = ""
    exact: bool = False

    def matches(self, message: Any) -> bool:
        if not isinstance(message, dict) or message.get("role") != self.role or not isinstance(message.get("content"), str):
            return False
        content = message["content"]
        if self.exact:
            return bool(content == self.head)
        return content.startswith(self.head) and content.endswith(self.tail) and len(content) >= len(self.head) + len(self.tail)


@dataclass(frozen=True)
class GradingShape:
    """What the evaluator's grading requests of one judged benchmark look like, message by message: the judge
    proxy (``integrity/judge_proxy.py``) forwards these and nothing else."""

    messages: tuple[MessageShape, ...]

    def matches(self, messages: Any) -> bool:
        return (isinstance(messages, list) and len(messages) == len(self.messages)
                and all(shape.matches(message) for shape, message in zip(self.messages, messages, strict=True)))


@dataclass
class Judge:
    """A client for one evaluation; created inside the event loop that uses it."""

    settings: JudgeSettings
    _client: Any = field(default=None, init=False, repr=False)
    _slots: asyncio.Semaphore | None = field(default=None, init=False, repr=False)

    def _ready(self) -> tuple[Any, asyncio.Semaphore]:
        import httpx

        if self._client is None or self._slots is None:
            self._client = httpx.AsyncClient(
                base_url=self.settings.base_url.rstrip("/"), timeout=self.settings.timeout_s,
                headers={"Authorization": f"Bearer {self.settings.api_key()}"},
            )
            self._slots = asyncio.Semaphore(self.settings.concurrency)
        return self._client, self._slots

    def _body(self, messages: list[dict[str, str]], max_tokens: int, reasoning_effort: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.settings.model, "messages": messages}
        if self.settings.model.startswith(REASONING_PREFIXES):
            body["max_completion_tokens"] = max_tokens
            if reasoning_effort:
                body["reasoning_effort"] = reasoning_effort
        else:  # classic chat models: deterministic and short
            body["temperature"] = 0
            body["max_tokens"] = min(max_tokens, 4096)
        return body

    async def ask(
        self, messages: list[dict[str, str]], parse: Callable[[str], T], *,
        max_tokens: int = 49152, reasoning_effort: str | None = None,
    ) -> tuple[T, dict[str, int]]:
        """The parsed reply and its token usage; ``parse`` raises ``ValueError`` for a malformed reply."""
        client, slots = self._ready()
        problems: list[str] = []
        for attempt in range(self.settings.attempts):
            if attempt:
                await asyncio.sleep(self.settings.backoff_s * 2 ** (attempt - 1))
            try:
                async with slots:
                    response = await client.post("/chat/completions", json=self._body(messages, max_tokens, reasoning_effort))
                if response.status_code == 400 and reasoning_effort and "reasoning" in response.text.lower():
                    reasoning_effort = None  # endpoint does not take the setting: ask again without it
                    problems.append("HTTP 400 on reasoning_effort")
                    continue
                response.raise_for_status()
                reply = response.json()
                text = reply["choices"][0]["message"]["content"] or ""
                return parse(text), _usage(reply)
            except Exception as error:  # network, HTTP status, JSON shape or parse: all count as an attempt
                problems.append(f"{type(error).__name__}: {str(error)[:200]}")
        raise JudgeError(f"judge {self.settings.model} failed {self.settings.attempts} attempts; last: {problems[-1]}")

    async def ask_or_skip(
        self, messages: list[dict[str, str]], parse: Callable[[str], T], *, reasoning_effort: str | None = None,
    ) -> tuple[T | None, dict[str, int]]:
        """``ask``, except that a judgment failing every attempt gives ``(None, {})`` where the settings
        tolerate failures (the runner then checks the rate); otherwise ``JudgeError`` propagates."""
        try:
            return await self.ask(messages, parse, reasoning_effort=reasoning_effort)
        except JudgeError:
            if self.settings.max_failure_rate <= 0:
                raise
            return None, {}


def total_usage(usages: Iterable[dict[str, int]]) -> dict[str, int]:
    usages = list(usages)
    return {key: sum(usage.get(key, 0) for usage in usages) for key in USAGE_KEYS}


def _usage(reply: dict[str, Any]) -> dict[str, int]:
    usage = reply.get("usage") or {}
    return {"input_tokens": int(usage.get("prompt_tokens") or 0), "output_tokens": int(usage.get("completion_tokens") or 0)}
