"""A stand-in for the ``vllm`` command that Inspect's vLLM provider starts: ``vllm serve MODEL --port N ...``.

It writes its arguments and the chat template file's text (the file is gone after the evaluation) to
``$PTB_FAKE_VLLM_LOG/launch.json``, then serves on loopback what the provider uses: ``GET /v1/models``
(its readiness check) and ``POST /v1/chat/completions``, answering every request with ``ANSWER: 42`` and
appending each request body to ``requests.jsonl``. No model runs: vLLM cannot be installed here.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LOG = Path(os.environ["PTB_FAKE_VLLM_LOG"])


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def main(argv: list[str]) -> None:
    template = option(argv, "--chat-template")
    LOG.mkdir(parents=True, exist_ok=True)
    (LOG / "launch.json").write_text(json.dumps({"argv": argv, "chat_template": Path(template).read_text() if template else None}))
    model, key = argv[1], option(argv, "--api-key")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def answer(self, payload: object) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200 if self.headers.get("Authorization") == f"Bearer {key}" else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self.answer({"object": "list", "data": [{"id": model, "object": "model", "max_model_len": int(option(argv, "--max-model-len") or 0)}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with open(LOG / "requests.jsonl", "a") as handle:
                handle.write(json.dumps(body) + "\n")
            self.answer({"id": "chatcmpl-1", "object": "chat.completion", "model": body.get("model"),
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": "ANSWER: 42"}, "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}})

    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
    ThreadingHTTPServer(("127.0.0.1", int(option(argv, "--port") or 8000)), Handler).serve_forever()


def exit_with_parent(parent: int) -> None:
    """Never outlive the evaluation that started this server."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
