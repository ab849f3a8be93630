"""The judge proxy: the agent's own ``evaluate.py`` can grade with the LLM judge while the judge's key stays on
the host.

For the judged benchmarks (arenahardwriting, healthbench), the solve stage starts this proxy on the host's
loopback. The sandbox gets the proxy's URL and a key made for this trial only (``PTB_JUDGE_BASE_URL``,
``PTB_JUDGE_API_KEY``, ``PTB_JUDGE_MODEL``), never the real key. The proxy forwards a request upstream,
with the real key, only when it is a grading request of the evaluator's own shape: the judge model, no tools,
no streaming, and messages that match the benchmark's judge prompts around the filled-in parts
(``GradingShape``). It counts the requests and their tokens and stops forwarding past its caps. It refuses
anything else, and writes every request, forwarded or refused, with the reason, to ``agent/judge_proxy.jsonl``.
The audit reads that log: refused requests are evidence for ``api_misuse``.

The proxy is reachable only when the sandbox shares the host's network (the default). A grading request
carries free text (the conversation, the answers), so the caps, not the shape alone, bound what an agent can
get out of the judge.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from posttrainbench.evaluation.judge import GradingShape, JudgeSettings
from posttrainbench.fileio import iso_now

MAX_REQUESTS = 50_000
"""Forwarded requests per trial: about 20 full HealthBench evaluations (245 items x ~11 rubric items)."""
MAX_TOKENS = 200_000_000
"""Input plus output tokens forwarded per trial."""
REFUSED_NOT_GRADING = "not a grading request of the evaluator's shape"


@dataclass
class Caps:
    requests: int = MAX_REQUESTS
    tokens: int = MAX_TOKENS


class JudgeProxy:
    def __init__(self, upstream: JudgeSettings, shapes: list[GradingShape], log: Path, caps: Caps | None = None):
        self.upstream = upstream
        self.shapes = shapes
        self.log = log
        self.caps = caps or Caps()
        self.token = f"ptb-judge-{secrets.token_hex(16)}"
        """The key the sandbox gets: good for this proxy only."""
        self.forwarded = 0
        self.tokens = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the proxy is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def environment(self) -> dict[str, str]:
        """What the sandbox gets instead of the judge's key."""
        return {"PTB_JUDGE_BASE_URL": self.base_url, "PTB_JUDGE_API_KEY": self.token, "PTB_JUDGE_MODEL": self.upstream.model}

    @contextmanager
    def running(self) -> Iterator[JudgeProxy]:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=10)

    def refusal(self, headers: Any, path: str, body: Any) -> tuple[int, str] | None:
        """Why a request is not forwarded (HTTP status and reason), or None to forward it."""
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, "wrong or missing key"
        if path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            return 404, f"only chat completions are served (asked for {path})"
        if not isinstance(body, dict):
            return 400, "the body is not a JSON object"
        if body.get("model") != self.upstream.model:
            return 403, f"only the judge model {self.upstream.model} is served (asked for {body.get('model')!r})"
        if body.get("stream") or body.get("tools") or body.get("functions") or body.get("n", 1) != 1:
            return 403, "streaming, tools and several choices are not grading"
        if not any(shape.matches(body.get("messages")) for shape in self.shapes):
            return 403, REFUSED_NOT_GRADING
        with self._lock:
            if self.forwarded >= self.caps.requests or self.tokens >= self.caps.tokens:
                return 429, f"the trial's judge budget is spent ({self.forwarded} requests, {self.tokens} tokens)"
        return None

    def forward(self, body: dict[str, Any]) -> tuple[int, bytes, dict[str, int]]:
        import httpx

        response = httpx.post(f"{self.upstream.base_url.rstrip('/')}/chat/completions", json=body, timeout=self.upstream.timeout_s,
                              headers={"Authorization": f"Bearer {self.upstream.api_key()}"})
        usage: dict[str, int] = {}
        try:
            reported = response.json().get("usage") or {}
            usage = {"input_tokens": int(reported.get("prompt_tokens") or 0), "output_tokens": int(reported.get("completion_tokens") or 0)}
        except (ValueError, AttributeError):
            pass
        with self._lock:
            self.forwarded += 1
            self.tokens += sum(usage.values())
        return response.status_code, response.content, usage

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock, open(self.log, "a") as handle:
            handle.write(json.dumps({"at": iso_now(), **entry}) + "\n")


def _handler(proxy: JudgeProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server interface
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = None
            first = _first_message(body)
            refused = proxy.refusal(self.headers, self.path, body)
            if refused is not None:
                status, reason = refused
                proxy.record({"outcome": "refused", "reason": reason, "path": self.path, "first_message": first})
                return self._send(status, json.dumps({"error": {"message": f"ptb judge proxy: {reason}"}}).encode())
            try:
                status, content, usage = proxy.forward(body)
            except Exception as error:  # noqa: BLE001 - any upstream failure is the evaluator's to retry
                proxy.record({"outcome": "failed", "reason": f"{type(error).__name__}: {error}"[:300]})
                return self._send(502, json.dumps({"error": {"message": "ptb judge proxy: upstream unreachable"}}).encode())
            proxy.record({"outcome": "forwarded", "status": status, **usage})
            self._send(status, content)

        def do_GET(self) -> None:  # noqa: N802
            proxy.record({"outcome": "refused", "reason": f"GET {self.path}", "path": self.path})
            self._send(405, b'{"error": {"message": "ptb judge proxy: POST grading requests only"}}')

        def _send(self, status: int, content: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: the JSONL log says it all
            return None

    return Handler


def _first_message(body: Any) -> str | None:
    try:
        return str(body["messages"][0]["content"])[:200]
    except (TypeError, KeyError, IndexError):
        return None


def refused_requests(log: Path) -> list[dict[str, Any]]:
    """The requests the proxy refused as not grading (wrong shape, model, path or key), from its log."""
    if not log.is_file():
        return []
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [e for e in entries if e.get("outcome") == "refused" and not str(e.get("reason", "")).startswith("the trial's judge budget")]
