"""A local Gemini API server on loopback (``models/<model>:streamGenerateContent?alt=sse`` and
``:generateContent``), answering from a script: what the Gemini CLI calls with ``GOOGLE_GEMINI_BASE_URL``.

``script(body) -> Answer`` sees each request body; an answer is a list of parts (``text``, ``functionCall``)
and the usage to report. Streamed answers are one server-sent event per part, the last one carrying
``finishReason`` and ``usageMetadata``. Requests without the right ``x-goog-api-key`` get 401. Every request
body is kept in ``requests``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loopback import Handler, LoopbackServer, sse


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
class FakeGemini(LoopbackServer):
    script: Callable[[dict[str, Any]], Answer]
    api_key: str = "test-key"
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __enter__(self) -> FakeGemini:
        server = self

        class GeminiHandler(Handler):
            def do_GET(self) -> None:
                self.send_json(404, {"error": {"code": 404, "message": "no such route", "status": "NOT_FOUND"}})

            def do_POST(self) -> None:
                body = self.read_json()
                if self.headers.get("x-goog-api-key") != server.api_key:
                    return self.send_json(401, {"error": {"code": 401, "message": "bad key", "status": "UNAUTHENTICATED"}})
                model, _, method = self.path.split("?")[0].rsplit("/", 1)[-1].partition(":")
                if method not in ("streamGenerateContent", "generateContent"):
                    return self.send_json(404, {"error": {"code": 404, "message": "no such route", "status": "NOT_FOUND"}})
                server.requests.append(body)
                answer = server.script(body)
                parts = answer.parts or [{"text": ""}]
                if method == "generateContent":
                    chunk = _chunk(parts[0], answer, model)
                    chunk["candidates"][0]["content"]["parts"] = parts
                    return self.send_json(200, chunk)
                last = len(parts) - 1
                self.send_events(sse(_chunk(part, answer if i == last else None, model), newline="\r\n") for i, part in enumerate(parts))

        self.serve(GeminiHandler)
        return self

    @property
    def base_url(self) -> str:
        return self.origin
