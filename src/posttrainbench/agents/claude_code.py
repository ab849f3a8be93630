"""Claude Code (``claude --print --output-format stream-json``), by API key or subscription token.

Trace format: one JSON object per line. ``system``/``init`` names the session and model; ``assistant``
and ``user`` events carry ``message.content`` blocks (``text``, ``thinking``, ``tool_use``, ``tool_result``);
``result`` ends the run with that run's usage and ``total_cost_usd``. One API message may arrive as several
``assistant`` lines sharing its id and usage, so a run's usage is taken from its ``result``, or (a run cut
off before it) once per message id. A log may hold several runs (``--continue`` resumes start a new
``system``/``init`` in the same session): their usages add up, but ``total_cost_usd`` is the session's
running total, so the last one of each session counts. ``stream_event`` lines (partial messages) are
folded: the complete message follows them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from posttrainbench.agents.base import AgentContext, register_agent
from posttrainbench.agents.scaffold import ScaffoldAgent, Secret
from posttrainbench.agents.trace import Event, Trace, as_int, clip, json_lines, unparsed
from posttrainbench.results.schema import TokenUsage


@register_agent
class ClaudeCodeAgent(ScaffoldAgent):
    name: ClassVar[str] = "claude-code"
    description: ClassVar[str] = "Anthropic's Claude Code CLI, headless with stream-json output"
    binary: ClassVar[str] = "claude"
    npm_package: ClassVar[str] = "@anthropic-ai/claude-code"
    pinned_version: ClassVar[str] = "2.1.330"
    secrets: ClassVar[tuple[Secret, ...]] = (Secret("ANTHROPIC_API_KEY"), Secret("CLAUDE_CODE_OAUTH_TOKEN", file="oauth_token"))
    efforts: ClassVar[tuple[str, ...]] = ("low", "medium", "high", "xhigh", "max")
    # Headless, Claude Code may start a job in the background and end its turn believing the job runs on.
    prompt_note: ClassVar[str | None] = (
        "Nobody is at the keyboard and nothing keeps running after your last message: wait until every process "
        "you started (training, evaluation, downloads) has finished before you write your final message.")

    def base_command(self) -> list[str]:
        argv = [self.binary, "--print", "--verbose", "--model", self.model, "--output-format", "stream-json",
                "--dangerously-skip-permissions"]
        if self.reasoning_effort and self.reasoning_effort != "max":  # "max" has no flag, only the variable
            argv += ["--effort", self.reasoning_effort]
        return argv

    def scaffold_env(self, ctx: AgentContext) -> dict[str, str]:
        budget_ms = str(int(ctx.hours * 3600 * 1000))
        # IS_SANDBOX: the agent is uid 0 inside bubblewrap's user namespace, and Claude Code refuses
        # --dangerously-skip-permissions as root unless told that it runs in a sandbox (which it does).
        env = {"BASH_MAX_TIMEOUT_MS": budget_ms, "BASH_DEFAULT_TIMEOUT_MS": budget_ms, "DISABLE_AUTOUPDATER": "1", "IS_SANDBOX": "1"}
        if self.reasoning_effort == "max":
            env["CLAUDE_CODE_EFFORT_LEVEL"] = "max"
        if self.base_url:  # an Anthropic-compatible endpoint (GLM, Qwen): every model slot is the given model
            env.update(ANTHROPIC_BASE_URL=self.base_url, ANTHROPIC_MODEL=self.model,
                       ANTHROPIC_SMALL_FAST_MODEL=self.model, API_TIMEOUT_MS="3000000")
        return env

    def environment(self, ctx: AgentContext) -> dict[str, str]:
        env = super().environment(ctx)
        if self.base_url and "ANTHROPIC_API_KEY" in env:
            env["ANTHROPIC_AUTH_TOKEN"] = env["ANTHROPIC_API_KEY"]  # compatible endpoints read either
        return env

    def resume_command(self, message: str) -> list[str]:
        return [*self.base_command(), "--continue", message]

    @staticmethod
    def parse(text: str) -> Trace:
        trace = Trace()
        tools: dict[str, str] = {}
        runs: list[_Run] = [_Run(None)]
        for obj, line in json_lines(text):
            if obj is None:
                trace.events.append(unparsed(line))
                continue
            kind = obj.get("type")
            if kind == "system" and obj.get("subtype") == "init":
                trace.session_id, trace.model = obj.get("session_id"), obj.get("model")
                runs.append(_Run(trace.session_id))
                trace.events.append(Event("other", text="session started", raw=obj))
            elif kind in ("assistant", "user"):
                message = obj.get("message") or {}
                if kind == "assistant" and isinstance(message.get("usage"), dict):
                    per_message = runs[-1].per_message
                    per_message[str(message.get("id") or len(per_message))] = message["usage"]
                content = message.get("content")
                if isinstance(content, str):
                    trace.events.append(Event("message", role=kind, text=content))
                    continue
                for block in content if isinstance(content, list) else []:
                    trace.events.append(_block_event(kind, block, tools))
            elif kind == "result":
                runs[-1].result = obj
                if obj.get("is_error") or (obj.get("subtype") not in (None, "success")):
                    trace.events.append(Event("error", text=f"run ended: {obj.get('subtype')}: {obj.get('result') or ''}".strip()))
                trace.events.append(Event("usage", raw={k: obj.get(k) for k in ("usage", "total_cost_usd", "num_turns", "duration_ms") if k in obj}))
            elif kind == "stream_event":
                continue
            else:
                trace.events.append(Event("other", raw=obj))
        trace.usage = _usage(runs)
        return trace


class _Run:
    """One launch of the CLI within the log: its session, its result and its messages' usage."""

    def __init__(self, session: str | None):
        self.session = session
        self.result: dict[str, Any] | None = None
        self.per_message: dict[str, dict[str, Any]] = {}


def _block_event(role: str, block: Any, tools: dict[str, str]) -> Event:
    if not isinstance(block, dict):
        return Event("other", raw=block)
    kind = block.get("type")
    if kind == "text":
        return Event("message", role=role, text=block.get("text"))
    if kind in ("thinking", "redacted_thinking"):
        return Event("reasoning", text=block.get("thinking") or "(redacted)")
    if kind == "tool_use":
        call_id, name, arguments = block.get("id"), block.get("name"), block.get("input")
        if call_id:
            tools[call_id] = name
        command = arguments.get("command") if isinstance(arguments, dict) else None
        return Event("tool_call", tool=name, call_id=call_id, input=arguments, command=command if isinstance(command, str) else None)
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            content = "\n".join(str(part.get("text", part)) if isinstance(part, dict) else str(part) for part in content)
        call_id = block.get("tool_use_id")
        return Event("tool_result", call_id=call_id, tool=tools.get(call_id or ""), output=clip(content), is_error=bool(block.get("is_error")))
    return Event("other", raw=block)


def _usage(runs: list[_Run]) -> TokenUsage:
    usage = TokenUsage()
    session_costs: dict[str | None, float] = {}
    for run in runs:
        result = run.result or {}
        reports = [result["usage"]] if isinstance(result.get("usage"), dict) else list(run.per_message.values())
        for report in reports:
            fresh, created, read = (as_int(report.get(k)) or 0 for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
            usage.add(input_tokens=fresh + created + read, cached_input_tokens=read, output_tokens=as_int(report.get("output_tokens")))
        if isinstance(result.get("total_cost_usd"), (int, float)):
            session_costs[run.session] = float(result["total_cost_usd"])
    if session_costs:
        usage.cost_usd = round(sum(session_costs.values()), 6)
    return usage
