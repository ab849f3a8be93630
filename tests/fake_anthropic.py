"""A local Anthropic Messages API server on loopback (``POST /v1/messages``, streamed), answering from a script.

What Claude Code calls. ``script(body) -> Turn`` sees each request body; a turn is a list of content blocks
(text, thinking, tool_use) and the usage to report. The blocks are streamed as the API does:
``message_start`` (with the input usage), per block ``content_block_start`` / ``_delta`` / ``_stop``,
``message_delta`` (stop reason, output tokens) and ``message_stop``. Requests with the wrong key get 401.
Every request body is kept in ``requests``.
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
class Turn:
    blocks: list[dict[str, Any]]
    input_tokens: int = 10
    cache_read_input_tokens: int = 0
    output_tokens: int = 5


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def thinking(value: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": value, "signature": "sig"}


def tool_use(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"toolu_{next(_ids):04d}", "name": name, "input": arguments}


def _events(body: dict[str, Any], turn: Turn) -> Iterator[dict[str, Any]]:
    usage = {"input_tokens": turn.input_tokens, "cache_read_input_tokens": turn.cache_read_input_tokens,
             "cache_creation_input_tokens": 0, "output_tokens": 1}
    yield {"type": "message_start", "message": {"id": f"msg_{next(_ids):04d}", "type": "message", "role": "assistant",
                                                "model": body.get("model"), "content": [], "stop_reason": None,
                                                "stop_sequence": None, "usage": usage}}
    for index, block in enumerate(turn.blocks):
        if block["type"] == "text":
            yield {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
            yield {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": block["text"]}}
        elif block["type"] == "thinking":
            yield {"type": "content_block_start", "index": index, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}
            yield {"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": block["thinking"]}}
            yield {"type": "content_block_delta", "index": index, "delta": {"type": "signature_delta", "signature": block["signature"]}}
        else:
            yield {"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}}
            yield {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}}
        yield {"type": "content_block_stop", "index": index}
    stop = "tool_use" if any(b["type"] == "tool_use" for b in turn.blocks) else "end_turn"
    yield {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": turn.output_tokens}}
    yield {"type": "message_stop"}


@dataclass
class FakeAnthropic(LoopbackServer):
    script: Callable[[dict[str, Any]], Turn]
    api_key: str = "test-key"
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __enter__(self) -> FakeAnthropic:
        server = self

        class AnthropicHandler(Handler):
            def do_HEAD(self) -> None:  # Claude Code's connectivity check
                self.send_response(200)
                self.end_headers()

            def do_GET(self) -> None:
                self.send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": "no such route"}})

            def do_POST(self) -> None:
                body = self.read_json()
                if self.headers.get("x-api-key") != server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    return self.send_json(401, {"type": "error", "error": {"type": "authentication_error", "message": "bad key"}})
                if self.path.split("?")[0].rstrip("/") != "/v1/messages":
                    return self.send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": "no such route"}})
                server.requests.append(body)
                self.send_events(sse(event, event["type"]) for event in _events(body, server.script(body)))

        self.serve(AnthropicHandler)
        return self

    @property
    def base_url(self) -> str:
        return self.origin
