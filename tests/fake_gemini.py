"""A local Gemini API server on loopback (``models/<model>:streamGenerateContent?alt=sse`` and
``:generateContent``), answering from a script: what the Gemini CLI calls with ``GOOGLE_GEMINI_BASE_URL``.

``script(body) -> Answer`` sees each request body; an answer is a list of parts (``text``, ``functionCall``)
and the usage to report. Streamed answers are one server-sent event per part, the last one carrying
``finishReason`` and ``usageMetadata``. Requests without the right ``x-goog-api-key`` get 401. Every request
body is kept in ``requests``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    parts: list[dict[str, Any]]
    prompt_tokens: int = 10
    cached_tokens: int = 0
    output_tokens: int = 5
    thoughts_tokens: int = 0


def function_call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"functionCall": {"name": name, "args": args}}


def _chunk(part: dict[str, Any], answer: Answer | None, model: str) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [part]}, "index": 0}
    chunk: dict[str, Any] = {"candidates": [candidate], "modelVersion": model}
    if answer is not None:  # the last chunk ends the answer and reports its usage
        candidate["finishReason"] = "STOP"
        chunk["usageMetadata"] = {"promptTokenCount": answer.prompt_tokens, "cachedContentTokenCount": answer.cached_tokens,
                                  "candidatesTokenCount": answer.output_tokens, "thoughtsTokenCount": answer.thoughts_tokens,
                                  "totalTokenCount": answer.prompt_tokens + answer.output_tokens + answer.thoughts_tokens}
    return chunk


@dataclass
class FakeGemini:
    script: Callable[[dict[str, Any]], Answer]
    api_key: str = "test-key"
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __enter__(self) -> FakeGemini:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._send(404, {"error": {"code": 404, "message": "no such route", "status": "NOT_FOUND"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                path = self.path.split("?")[0]
                if self.headers.get("x-goog-api-key") != server.api_key:
                    return self._send(401, {"error": {"code": 401, "message": "bad key", "status": "UNAUTHENTICATED"}})
                model, _, method = path.rsplit("/", 1)[-1].partition(":")
                if method not in ("streamGenerateContent", "generateContent"):
                    return self._send(404, {"error": {"code": 404, "message": "no such route", "status": "NOT_FOUND"}})
                server.requests.append(body)
                answer = server.script(body)
                parts = answer.parts or [{"text": ""}]
                if method == "generateContent":
                    chunk = _chunk(parts[0], answer, model)
                    chunk["candidates"][0]["content"]["parts"] = parts
                    return self._send(200, chunk)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for index, part in enumerate(parts):
                    chunk = _chunk(part, answer if index == len(parts) - 1 else None, model)
                    self.wfile.write(f"data: {json.dumps(chunk)}\r\n\r\n".encode())
                    self.wfile.flush()
                self.close_connection = True

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
