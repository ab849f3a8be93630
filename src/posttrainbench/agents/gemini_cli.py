"""Google's Gemini CLI (``gemini --output-format stream-json``), by API key.

Trace format: one JSON object per line with a ``type``: ``init`` (session_id, model), ``message`` (role,
content; consecutive ``delta: true`` pieces of one role are one message), ``tool_use`` (tool_name, tool_id,
parameters), ``tool_result`` (tool_id, status, output, error), ``error`` (severity, message) and ``result``
(status, stats with token counts). Gemini CLI reports no cost.

Each run's ``result`` counts that run only (a resume starts again), so the runs add up. Its
``output_tokens`` leave out the thinking tokens, which ``total_tokens`` includes (and which are billed as
output): the difference is the reasoning, and it is added to the output so that output means every
generated token, as for the other scaffolds.

Headless runs need two settings the CLI would otherwise ask for: ``--skip-trust`` (an untrusted folder
turns ``--yolo`` back into asking for approval) and the API-key auth type in ``~/.gemini/settings.json``
(without it, and with a custom ``GOOGLE_GEMINI_BASE_URL``, the CLI stops with "Invalid auth method").
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from posttrainbench.agents.base import AgentContext, register_agent
from posttrainbench.agents.scaffold import ScaffoldAgent, Secret
from posttrainbench.agents.trace import Event, Trace, as_int, clip, json_lines, unparsed


@register_agent
class GeminiCliAgent(ScaffoldAgent):
    name: ClassVar[str] = "gemini-cli"
    description: ClassVar[str] = "Google's Gemini CLI, headless with stream-json output"
    binary: ClassVar[str] = "gemini"
    npm_package: ClassVar[str] = "@google/gemini-cli"
    pinned_version: ClassVar[str] = "0.61.0"
    secrets: ClassVar[tuple[Secret, ...]] = (Secret("GEMINI_API_KEY"),)

    def _flags(self) -> list[str]:
        return ["--yolo", "--skip-trust", "--model", self.model, "--output-format", "stream-json"]

    def base_command(self) -> list[str]:
        return [self.binary, *self._flags(), "-p"]

    def resume_command(self, message: str) -> list[str]:
        return [self.binary, *self._flags(), "--resume", "latest", "-p", message]

    def config_files(self, ctx: AgentContext) -> dict[str, str]:
        return {".gemini/settings.json": json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}, indent=2)}

    def scaffold_env(self, ctx: AgentContext) -> dict[str, str]:
        env = {"GEMINI_SANDBOX": "false"}  # the harness's sandbox holds it; Gemini's own would need Docker
        if self.base_url:
            env["GOOGLE_GEMINI_BASE_URL"] = self.base_url
        return env

    @staticmethod
    def parse(text: str) -> Trace:
        trace = Trace()
        events = trace.events
        tools: dict[str, str] = {}
        streaming: Event | None = None  # the message that delta pieces are still appended to
        for obj, line in json_lines(text):
            if obj is None:
                events.append(unparsed(line))
                continue
            kind = obj.get("type")
            when = obj.get("timestamp")
            if kind == "init":
                trace.session_id, trace.model = obj.get("session_id"), obj.get("model")
                events.append(Event("other", text="session started", raw=obj, time=when))
            elif kind == "message":
                role, content = obj.get("role"), str(obj.get("content") or "")
                if obj.get("delta") and streaming is not None and events[-1] is streaming and streaming.role == role:
                    streaming.text = (streaming.text or "") + content
                    continue
                events.append(Event("message", role=role, text=content, time=when))
                streaming = events[-1] if obj.get("delta") else None
            elif kind == "tool_use":
                tool_id, name, parameters = obj.get("tool_id"), obj.get("tool_name"), obj.get("parameters")
                tools[str(tool_id)] = name
                command = parameters.get("command") if isinstance(parameters, dict) else None
                events.append(Event("tool_call", tool=name, call_id=tool_id, input=parameters, command=command, time=when))
            elif kind == "tool_result":
                error = obj.get("error")
                output = obj.get("output") if obj.get("output") is not None else (error.get("message") if isinstance(error, dict) else error)
                events.append(Event("tool_result", call_id=obj.get("tool_id"), tool=tools.get(str(obj.get("tool_id"))),
                                    output=clip(output), is_error=obj.get("status") != "success", time=when))
            elif kind == "error":
                events.append(Event("error", text=f"{obj.get('severity', 'error')}: {obj.get('message')}", time=when))
            elif kind == "result":
                stats = obj.get("stats") if isinstance(obj.get("stats"), dict) else {}
                _add_stats(trace, stats)
                if obj.get("status") not in (None, "success"):
                    events.append(Event("error", text=f"run ended: {obj.get('status')}", time=when))
                events.append(Event("usage", raw=stats, time=when))
            else:
                events.append(Event("other", raw=obj, time=when))
        return trace


def _add_stats(trace: Trace, stats: dict[str, Any]) -> None:
    fresh_and_cached, output, total = (as_int(stats.get(k)) for k in ("input_tokens", "output_tokens", "total_tokens"))
    thoughts = max(0, total - fresh_and_cached - output) if None not in (fresh_and_cached, output, total) else None  # type: ignore[operator]
    trace.usage.add(input_tokens=fresh_and_cached, output_tokens=None if output is None else output + (thoughts or 0),
                    cached_input_tokens=as_int(stats.get("cached", stats.get("cached_input_tokens"))), reasoning_tokens=thoughts)
