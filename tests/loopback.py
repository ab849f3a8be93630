"""What the fake API servers (``fake_openai``, ``fake_anthropic``, ``fake_gemini``) share: a threaded HTTP
server on a free loopback port, and a request handler that answers JSON or a stream of server-sent events."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def sse(data: Any, event: str | None = None, newline: str = "\n") -> str:
    """One server-sent event: ``data`` as JSON (a string as is), with an optional event name."""
    body = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}{newline}" if event else "") + f"data: {body}{newline}{newline}"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def read_json(self) -> Any:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def send_json(self, status: int, payload: Any) -> None:
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_events(self, events: Iterable[str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for event in events:
            self.wfile.write(event.encode())
            self.wfile.flush()
        self.close_connection = True


class LoopbackServer:
    """Serve ``handler`` on 127.0.0.1 from ``serve`` until ``__exit__``."""

    def serve(self, handler: type[Handler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
