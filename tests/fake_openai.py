"""A local OpenAI-compatible server on loopback, answering from a script.

It speaks two of OpenAI's APIs:

- Chat Completions (``POST /v1/chat/completions``): one JSON answer (what the LLM judges call), or with
  ``stream: true`` chunks of deltas, the reply's ``function_call`` items as ``tool_calls``, a usage chunk
  and ``[DONE]`` (what OpenCode calls through ``@ai-sdk/openai-compatible``).
- Responses (``POST /v1/responses`` with ``stream: true``), server-sent events: what the Codex CLI calls.
  The reply's ``items`` (messages, reasoning, ``function_call``\\ s) are streamed as
  ``response.output_item.added``/``.done`` pairs between ``response.created`` and ``response.completed``,
  which carries the usage.

``script(body) -> Reply`` sees each request body; a reply is the assistant text (or output items), or an
HTTP status with a body (to play a failing endpoint). Every request body is kept in ``requests``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from loopback import Handler, LoopbackServer, sse

_ids = itertools.count(1)


@dataclass
class Reply:
    text: str = ""
    status: int = 200
    raw: str | None = None
    """Send this body as is (malformed JSON and the like)."""
    items: list[dict[str, Any]] | None = None
    """Responses API output items; ``None`` means one assistant message holding ``text``."""
    usage: dict[str, int] = field(default_factory=lambda: {"input_tokens": 10, "cached_tokens": 0, "output_tokens": 5, "reasoning_tokens": 0})


def message_item(text: str) -> dict[str, Any]:
    return {"type": "message", "id": f"msg_{next(_ids)}", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def reasoning_item(summary: str) -> dict[str, Any]:
    return {"type": "reasoning", "id": f"rs_{next(_ids)}", "summary": [{"type": "summary_text", "text": summary}]}


def function_call_item(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    n = next(_ids)
    return {"type": "function_call", "id": f"fc_{n}", "call_id": f"call_{n}", "name": name, "status": "completed",
            "arguments": json.dumps(arguments)}


def _chat_completion(body: dict[str, Any], reply: Reply) -> str:
    return json.dumps({
        "id": "chatcmpl-1", "object": "chat.completion", "model": body.get("model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    })


def _chat_chunks(body: dict[str, Any], reply: Reply) -> Iterator[dict[str, Any]]:
    items = reply.items if reply.items is not None else [message_item(reply.text)]
    base = {"id": f"chatcmpl-{next(_ids)}", "object": "chat.completion.chunk", "model": body.get("model")}
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    calls = [item for item in items if item["type"] == "function_call"]
    for item in items:
        if item["type"] == "message":
            yield {**base, "choices": [{"index": 0, "delta": {"content": item["content"][0]["text"]}, "finish_reason": None}]}
    for index, call in enumerate(calls):
        delta = {"tool_calls": [{"index": index, "id": call["call_id"], "type": "function",
                                 "function": {"name": call["name"], "arguments": call["arguments"]}}]}
        yield {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if calls else "stop"}]}
    u = reply.usage
    yield {**base, "choices": [], "usage": {"prompt_tokens": u["input_tokens"], "completion_tokens": u["output_tokens"],
                                            "total_tokens": u["input_tokens"] + u["output_tokens"],
                                            "prompt_tokens_details": {"cached_tokens": u["cached_tokens"]},
                                            "completion_tokens_details": {"reasoning_tokens": u["reasoning_tokens"]}}}


def _response_events(body: dict[str, Any], reply: Reply) -> Iterator[dict[str, Any]]:
    items = reply.items if reply.items is not None else [message_item(reply.text)]
    response = {"id": f"resp_{next(_ids)}", "object": "response", "model": body.get("model"), "status": "in_progress", "output": []}
    yield {"type": "response.created", "response": response}
    for index, item in enumerate(items):
        yield {"type": "response.output_item.added", "output_index": index, "item": item}
        yield {"type": "response.output_item.done", "output_index": index, "item": item}
    u = reply.usage
    usage = {"input_tokens": u["input_tokens"], "input_tokens_details": {"cached_tokens": u["cached_tokens"]},
             "output_tokens": u["output_tokens"], "output_tokens_details": {"reasoning_tokens": u["reasoning_tokens"]},
             "total_tokens": u["input_tokens"] + u["output_tokens"]}
    yield {"type": "response.completed", "response": {**response, "status": "completed", "output": items, "usage": usage}}


@dataclass
class FakeOpenAI(LoopbackServer):
    script: Callable[[dict[str, Any]], Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    api_key: str = "test-key"

    def __enter__(self) -> FakeOpenAI:
        server = self

        class OpenAIHandler(Handler):
            def do_GET(self) -> None:  # model listings and the like: not served
                self.send_json(404, '{"error": {"message": "no such route"}}')

            def do_POST(self) -> None:
                body = self.read_json()
                server.requests.append(body)
                route = self.path.rstrip("/")
                if self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    self.send_json(401, '{"error": {"message": "bad key"}}')
                elif route not in ("/v1/chat/completions", "/v1/responses"):
                    self.send_json(404, '{"error": {"message": "no such route"}}')
                else:
                    reply = server.script(body)
                    if reply.raw is not None or reply.status != 200:
                        self.send_json(reply.status, reply.raw or "")
                    elif route == "/v1/responses":
                        self.send_events(sse(event, event["type"]) for event in _response_events(body, reply))
                    elif body.get("stream"):  # Chat Completions streams end with a sentinel
                        self.send_events([*(sse(chunk) for chunk in _chat_chunks(body, reply)), sse("[DONE]")])
                    else:
                        self.send_json(200, _chat_completion(body, reply))

        self.serve(OpenAIHandler)
        return self

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"
