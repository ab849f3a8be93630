"""A local OpenAI-compatible Chat Completions server on loopback, answering from a script.

``script(body) -> Reply`` sees each request body; a reply is the assistant text, or an HTTP status with a
body (to play a failing endpoint). Every request body is kept in ``requests`` for assertions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    text: str = ""
    status: int = 200
    raw: str | None = None
    """Send this body as is (malformed JSON and the like)."""


@dataclass
class FakeOpenAI:
    script: Callable[[dict[str, Any]], Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    api_key: str = "test-key"

    def __enter__(self) -> FakeOpenAI:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                if self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    reply = Reply(status=401, raw='{"error": {"message": "bad key"}}')
                elif self.path.rstrip("/") != "/v1/chat/completions":
                    reply = Reply(status=404, raw='{"error": {"message": "no such route"}}')
                else:
                    reply = server.script(body)
                payload = reply.raw if reply.raw is not None else json.dumps({
                    "id": "chatcmpl-1", "object": "chat.completion", "model": body.get("model"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                })
                data = payload.encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
