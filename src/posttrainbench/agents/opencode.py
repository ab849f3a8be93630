"""OpenCode (``opencode run --format json``), with Anthropic, OpenAI or OpenCode Zen keys.

``--agent-model`` is ``provider/model`` (for example ``anthropic/claude-opus-4-5``). With ``base_url`` the
model is served by an OpenAI-compatible endpoint, declared as the provider ``ptb``.

Trace format: one JSON object per line with ``type`` and a ``part``: ``text`` (part.text), ``reasoning``,
``tool_use`` (part.tool, part.callID, part.state: status, input, output, metadata.exit, error, time),
``step_start``, ``step_finish`` (part.cost in USD, part.tokens: input, output, reasoning, cache.read/write)
and ``error`` (error.name, error.data.message). A tool is reported once, when it has finished.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, ClassVar

from posttrainbench.agents.base import AgentContext, register_agent
from posttrainbench.agents.scaffold import ScaffoldAgent, Secret, priced
from posttrainbench.agents.trace import Event, Trace, as_int, clip, json_lines, unparsed


@register_agent
class OpenCodeAgent(ScaffoldAgent):
    name: ClassVar[str] = "opencode"
    description: ClassVar[str] = "OpenCode, opencode run with JSON events (model as provider/model)"
    binary: ClassVar[str] = "opencode"
    npm_package: ClassVar[str] = "opencode-ai"
    pinned_version: ClassVar[str] = "1.18.33"
    secrets: ClassVar[tuple[Secret, ...]] = (Secret("ANTHROPIC_API_KEY"), Secret("OPENAI_API_KEY"), Secret("OPENCODE_API_KEY"))

    def _model(self) -> str:
        return f"ptb/{self.model}" if self.base_url else self.model

    def base_command(self) -> list[str]:
        return [self.binary, "run", "--model", self._model(), "--format", "json"]

    def resume_command(self, message: str) -> list[str]:
        return [self.binary, "run", "--continue", "--model", self._model(), "--format", "json", message]

    def config_files(self, ctx: AgentContext) -> dict[str, str]:
        config: dict[str, Any] = {"$schema": "https://opencode.ai/config.json", "permission": "allow", "autoupdate": False}
        if self.base_url:
            config["provider"] = {"ptb": {"npm": "@ai-sdk/openai-compatible", "name": "ptb",
                                          "options": {"baseURL": self.base_url, "apiKey": "{env:OPENAI_API_KEY}"},
                                          "models": {self.model: {}}}}
        return {".config/opencode/opencode.json": json.dumps(config, indent=2)}

    def parse_trace(self, text: str) -> Trace:
        trace = self.parse(text)
        if self.base_url and not trace.usage.cost_usd:
            trace.usage.cost_usd = None  # OpenCode prices a custom provider's model at 0: unknown, not free
        return priced(trace, self.model)

    @staticmethod
    def parse(text: str) -> Trace:
        trace = Trace()
        events = trace.events
        for obj, line in json_lines(text):
            if obj is None:
                events.append(unparsed(line))
                continue
            kind, part = obj.get("type"), obj.get("part") if isinstance(obj.get("part"), dict) else {}
            when = _time(obj.get("timestamp"))
            trace.session_id = trace.session_id or obj.get("sessionID")
            if kind == "text":
                events.append(Event("message", role="assistant", text=part.get("text"), time=when))
            elif kind == "reasoning":
                events.append(Event("reasoning", text=part.get("text"), time=when))
            elif kind == "tool_use":
                events.extend(_tool_events(part, when))
            elif kind == "step_finish":
                tokens = part.get("tokens") if isinstance(part.get("tokens"), dict) else {}
                cache = tokens.get("cache") if isinstance(tokens.get("cache"), dict) else {}
                fresh, read, written = (as_int(v) or 0 for v in (tokens.get("input"), cache.get("read"), cache.get("write")))
                output, reasoning = as_int(tokens.get("output")), as_int(tokens.get("reasoning"))
                # OpenCode's output leaves the reasoning out; here output counts every generated token
                trace.usage.add(input_tokens=fresh + read + written, cached_input_tokens=read,
                                output_tokens=None if output is None else output + (reasoning or 0), reasoning_tokens=reasoning,
                                cost_usd=part.get("cost") if isinstance(part.get("cost"), (int, float)) else None)
                events.append(Event("usage", raw={"reason": part.get("reason"), "cost": part.get("cost"), "tokens": tokens}, time=when))
            elif kind == "step_start":
                continue
            elif kind == "error":
                error = obj.get("error") if isinstance(obj.get("error"), dict) else {}
                data = error.get("data") if isinstance(error.get("data"), dict) else {}
                events.append(Event("error", text=f"{error.get('name', 'error')}: {data.get('message', '')}".strip(), time=when))
            else:
                events.append(Event("other", raw=obj, time=when))
        return trace


def _tool_events(part: dict[str, Any], when: str | None) -> list[Event]:
    state = part.get("state") if isinstance(part.get("state"), dict) else {}
    arguments = state.get("input")
    command = arguments.get("command") if isinstance(arguments, dict) and isinstance(arguments.get("command"), str) else None
    metadata = state.get("metadata") if isinstance(state.get("metadata"), dict) else {}
    call = Event("tool_call", tool=part.get("tool"), call_id=part.get("callID"), input=arguments, command=command, time=when)
    output = state.get("output") if state.get("output") is not None else state.get("error")
    result = Event("tool_result", tool=part.get("tool"), call_id=part.get("callID"), exit_code=as_int(metadata.get("exit")),
                   output=clip(output), is_error=state.get("status") == "error", time=when)
    return [call, result]


def _time(epoch_ms: Any) -> str | None:
    if not isinstance(epoch_ms, (int, float)):
        return None
    return datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc).isoformat(timespec="seconds")
