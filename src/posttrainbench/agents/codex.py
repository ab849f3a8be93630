"""OpenAI's Codex CLI (``codex exec --json``), by API key or ChatGPT sign-in (``auth.json``).

Trace format, two vocabularies, both parsed:

- current: ``thread.started``, ``turn.started``, ``turn.completed`` (with the thread's running ``usage``),
  ``turn.failed``, ``error``, and ``item.started``/``item.updated``/``item.completed`` whose ``item`` is an
  ``agent_message``, ``reasoning``, ``command_execution`` (command, aggregated_output, exit_code),
  ``file_change``, ``mcp_tool_call``, ``web_search``, ``todo_list`` or ``error``. An item reported as started
  and then completed is one tool call and one result.
- older: objects (possibly wrapped as ``{"id", "msg": {...}}``) such as ``session_configured``,
  ``agent_message``, ``agent_reasoning``, ``exec_command_begin``/``_output_delta``/``_end``,
  ``patch_apply_begin``/``_end``, ``mcp_tool_call_begin``/``_end``, ``token_count`` (running totals: the
  last one counts), ``task_complete``, ``error``. Output deltas are folded into the command's result.

Token counts, in both vocabularies, are running totals of the session (thread), and a resumed session
(``exec resume``) goes on counting from where it stopped: the last report of each session counts, and the
sessions add up. Codex reports no cost; it comes from the price table where the model is in it.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from posttrainbench.agents.base import AgentContext, register_agent
from posttrainbench.agents.scaffold import ScaffoldAgent, Secret
from posttrainbench.agents.trace import Event, Trace, as_int, clip, json_lines, unparsed

_TOOL_ITEMS = ("command_execution", "file_change", "mcp_tool_call", "web_search")


@register_agent
class CodexAgent(ScaffoldAgent):
    name: ClassVar[str] = "codex"
    description: ClassVar[str] = "OpenAI's Codex CLI, codex exec with JSON events"
    binary: ClassVar[str] = "codex"
    npm_package: ClassVar[str] = "@openai/codex"
    pinned_version: ClassVar[str] = "0.169.0"
    secrets: ClassVar[tuple[Secret, ...]] = (
        Secret("CODEX_API_KEY"), Secret("OPENAI_API_KEY"), Secret("CODEX_AUTH_JSON", file="auth.json", home_path=".codex/auth.json"),
    )
    efforts: ClassVar[tuple[str, ...]] = ("minimal", "low", "medium", "high", "xhigh")

    def _flags(self) -> list[str]:
        flags = ["--json", "-c", "model_reasoning_summary=detailed", "--skip-git-repo-check",
                 "--dangerously-bypass-approvals-and-sandbox", "--model", self.model]
        if self.reasoning_effort:
            flags += ["-c", f"model_reasoning_effort={self.reasoning_effort}"]
        return flags

    def base_command(self) -> list[str]:
        return [self.binary, "--search", "exec", *self._flags()]

    def resume_command(self, message: str) -> list[str]:
        return [self.binary, "--search", "exec", "resume", "--last", *self._flags(), message]

    def scaffold_env(self, ctx: AgentContext) -> dict[str, str]:
        return {"CI": "1"}

    def config_files(self, ctx: AgentContext) -> dict[str, str]:
        # Codex runs its commands with this environment policy; the sandbox is the harness's, not Codex's.
        config = '[shell_environment_policy]\ninherit = "all"\n'
        if self.base_url:
            # Codex ignores OPENAI_BASE_URL; a custom endpoint is a provider of its own in config.toml.
            found = self.credentials().env
            key = next((name for name in ("OPENAI_API_KEY", "CODEX_API_KEY") if name in found), "OPENAI_API_KEY")
            config = (f'model_provider = "ptb"\n\n[model_providers.ptb]\nname = "ptb custom endpoint"\n'
                      f'base_url = {json.dumps(self.base_url)}\nenv_key = "{key}"\nwire_api = "responses"\n\n{config}')
        return {".codex/config.toml": config}

    @staticmethod
    def parse(text: str) -> Trace:
        state = _State()
        for obj, line in json_lines(text):
            if obj is None:
                state.trace.events.append(unparsed(line))
                continue
            message = obj.get("msg") if isinstance(obj.get("msg"), dict) else obj
            kind = str(message.get("type", ""))
            if kind.startswith(("thread.", "turn.", "item.")) or (kind == "error" and "msg" not in obj):
                state.current(kind, message)
            else:
                state.legacy(kind, message)
        state.finish()
        return state.trace


class _State:
    def __init__(self) -> None:
        self.trace = Trace()
        self.started: set[str] = set()
        self.legacy_output: dict[str, list[str]] = {}
        self.session_totals: dict[str | None, dict[str, Any]] = {}
        """The last running token total reported in each session."""

    # -- current vocabulary ---------------------------------------------------------------------------------

    def current(self, kind: str, obj: dict[str, Any]) -> None:
        events = self.trace.events
        if kind == "thread.started":  # each run (a resume too) starts one; item ids start over in it
            self.started.clear()
            self.trace.session_id = obj.get("thread_id")
            events.append(Event("other", text="thread started", raw=obj))
        elif kind == "turn.completed":
            usage = obj.get("usage") if isinstance(obj.get("usage"), dict) else {}
            self.session_totals[self.trace.session_id] = usage
            events.append(Event("usage", raw=usage))
        elif kind == "turn.failed":
            error = obj.get("error")
            events.append(Event("error", text=error.get("message") if isinstance(error, dict) else str(error)))
        elif kind == "error":
            events.append(Event("error", text=str(obj.get("message"))))
        elif kind in ("item.started", "item.updated", "item.completed") and isinstance(obj.get("item"), dict):
            self.item(kind, obj["item"])
        elif kind != "turn.started":
            events.append(Event("other", raw=obj))

    def item(self, kind: str, item: dict[str, Any]) -> None:
        item_id, item_type = str(item.get("id")), item.get("type")
        events = self.trace.events
        if item_type in _TOOL_ITEMS:
            if item_id not in self.started:  # the first report of a call, whichever it is
                self.started.add(item_id)
                events.append(_tool_call(item))
            if kind == "item.completed":
                events.append(_tool_result(item))
            return
        if kind != "item.completed":
            return  # text items are complete only in item.completed
        if item_type == "agent_message":
            events.append(Event("message", role="assistant", text=item.get("text")))
        elif item_type == "reasoning":
            events.append(Event("reasoning", text=item.get("text")))
        elif item_type == "error":
            events.append(Event("error", text=item.get("message")))
        else:
            events.append(Event("other", raw=item))

    # -- older vocabulary -----------------------------------------------------------------------------------

    def legacy(self, kind: str, msg: dict[str, Any]) -> None:
        events = self.trace.events
        if kind == "session_configured":
            self.trace.session_id, self.trace.model = msg.get("session_id"), msg.get("model")
            events.append(Event("other", text="session configured", raw=msg))
        elif kind == "agent_message":
            events.append(Event("message", role="assistant", text=msg.get("message")))
        elif kind == "user_message":
            events.append(Event("message", role="user", text=msg.get("message")))
        elif kind in ("agent_reasoning", "agent_reasoning_raw_content"):
            events.append(Event("reasoning", text=msg.get("text")))
        elif kind == "exec_command_begin":
            command = msg.get("command")
            events.append(Event("tool_call", tool="shell", call_id=msg.get("call_id"), input=msg,
                                command=" ".join(command) if isinstance(command, list) else command))
        elif kind == "exec_command_output_delta":
            self.legacy_output.setdefault(str(msg.get("call_id")), []).append(str(msg.get("chunk", "")))
        elif kind == "exec_command_end":
            output = "".join(part for part in (msg.get("stdout"), msg.get("stderr")) if isinstance(part, str))
            output = output or "".join(self.legacy_output.pop(str(msg.get("call_id")), []))
            events.append(Event("tool_result", tool="shell", call_id=msg.get("call_id"), exit_code=as_int(msg.get("exit_code")), output=clip(output)))
        elif kind in ("patch_apply_begin", "mcp_tool_call_begin"):
            tool = "apply_patch" if kind == "patch_apply_begin" else str(msg.get("invocation", {}).get("tool", "mcp"))
            events.append(Event("tool_call", tool=tool, call_id=msg.get("call_id"), input=msg.get("changes") or msg.get("invocation")))
        elif kind in ("patch_apply_end", "mcp_tool_call_end"):
            output = msg.get("stdout") if kind == "patch_apply_end" else json.dumps(msg.get("result"), ensure_ascii=False)
            events.append(Event("tool_result", call_id=msg.get("call_id"), output=clip(output), is_error=msg.get("success") is False))
        elif kind == "token_count":
            info = msg.get("info") if isinstance(msg.get("info"), dict) else msg
            total = info.get("total_token_usage", info)
            if isinstance(total, dict):
                self.session_totals[self.trace.session_id] = total
            events.append(Event("usage", raw=msg))
        elif kind in ("error", "stream_error"):
            events.append(Event("error", text=msg.get("message")))
        elif kind in ("task_started", "turn_started", "task_complete", "turn_complete", "agent_message_delta", "agent_reasoning_delta"):
            return  # bookkeeping and partial text: the complete message follows
        else:
            events.append(Event("other", raw=msg))

    def finish(self) -> None:
        for total in self.session_totals.values():
            self.trace.usage.add(input_tokens=as_int(total.get("input_tokens")), output_tokens=as_int(total.get("output_tokens")),
                                 cached_input_tokens=as_int(total.get("cached_input_tokens")),
                                 reasoning_tokens=as_int(total.get("reasoning_output_tokens")))


def _tool_call(item: dict[str, Any]) -> Event:
    item_type = item.get("type")
    if item_type == "command_execution":
        return Event("tool_call", tool="shell", call_id=item.get("id"), command=item.get("command"))
    if item_type == "mcp_tool_call":
        return Event("tool_call", tool=f"{item.get('server')}.{item.get('tool')}", call_id=item.get("id"), input=item.get("arguments"))
    if item_type == "web_search":
        return Event("tool_call", tool="web_search", call_id=item.get("id"), input={"query": item.get("query")})
    return Event("tool_call", tool="apply_patch", call_id=item.get("id"), input=item.get("changes"))


def _tool_result(item: dict[str, Any]) -> Event:
    output = item.get("aggregated_output")
    if item.get("type") == "mcp_tool_call":
        output = item.get("error") or item.get("result")
    failed = item.get("status") in ("failed", "declined")
    return Event("tool_result", call_id=item.get("id"), exit_code=as_int(item.get("exit_code")), output=clip(output), is_error=failed or None)
