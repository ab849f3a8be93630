"""The vLLM backend as Inspect's provider drives it: the ``vllm serve`` command it starts and the requests
it sends, recorded by a stand-in ``vllm`` on loopback (``fake_vllm.py``; vLLM cannot be installed here)."""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import TESTS, ptb
from posttrainbench.catalog import get_family
from posttrainbench.evaluation.backends import PROMPT_ALLOWANCE
from posttrainbench.evaluation.sampling import sampling_settings


@pytest.fixture
def fake_vllm(tmp_path: Path) -> dict[str, str]:
    """A ``vllm`` package to import and a ``vllm`` command on PATH: the environment of a ``ptb eval`` that
    runs on them (each in its own process: Inspect keeps a started server for the rest of a process)."""
    package = tmp_path / "site" / "vllm"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    command = tmp_path / "bin" / "vllm"
    command.parent.mkdir()
    server = TESTS / "fake_vllm.py"
    command.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(server))} \"$@\"\n")  # paths may hold spaces
    command.chmod(command.stat().st_mode | stat.S_IXUSR)
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path / "site"), os.environ.get("PYTHONPATH")])),
            "PATH": f"{command.parent}{os.pathsep}{os.environ['PATH']}", "PTB_FAKE_VLLM_LOG": str(tmp_path / "log"),
            "VLLM_BASE_URL": ""}


def evaluate_on_vllm(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = Path(env["PTB_FAKE_VLLM_LOG"]).parent / "metrics.json"
    proc = ptb("eval", "--backend", "vllm", "--device", "cpu", "--json-output-file", str(out), *args, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def recorded(env: dict[str, str]) -> tuple[list[str], str, list[dict[str, Any]]]:
    log = Path(env["PTB_FAKE_VLLM_LOG"])
    launch = json.loads((log / "launch.json").read_text())
    requests = [json.loads(line) for line in (log / "requests.jsonl").read_text().splitlines()]
    return launch["argv"], launch["chat_template"], requests


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_vllm_gets_the_chat_template_memory_share_context_and_sampling(fake_vllm: dict[str, str], tiny_model: Path,
                                                                       demo_gsm8k: Path) -> None:
    from transformers import AutoConfig

    metrics = evaluate_on_vllm(fake_vllm, "--model-path", str(tiny_model), "--benchmark", "gsm8k", "--data", str(demo_gsm8k),
                               "--limit", "2", "--max-tokens", "64")
    argv, template, requests = recorded(fake_vllm)
    assert metrics["backend"] == "vllm" and metrics["n"] == 2
    assert argv[:2] == ["serve", str(tiny_model.resolve())]
    assert template == get_family("qwen3").chat_template()  # the family's fixed template, never the model's own
    assert option(argv, "--gpu-memory-utilization") == "0.9"  # the fast profile's share
    context = AutoConfig.from_pretrained(tiny_model).max_position_embeddings
    assert option(argv, "--max-model-len") == str(metrics["max_model_len"])  # longest prompt + allowance + cap
    assert metrics["max_model_len"] == context or metrics["max_model_len"] > PROMPT_ALLOWANCE + 64
    assert "--enable-auto-tool-choice" not in argv  # no tools on GSM8K
    sampling = sampling_settings(tiny_model)
    assert len(requests) == 2
    for body in requests:
        assert body["model"] == str(tiny_model.resolve()) and body["max_tokens"] == 64 and body["seed"] == 0
        assert (body.get("temperature"), body.get("top_p")) == (sampling["temperature"], sampling["top_p"])
        assert body["messages"][0]["role"] == "system" and body["messages"][0]["content"].count("ANSWER:") == 10
    assert metrics["accuracy"] == 0.0  # "ANSWER: 42" matches none of the demo answers
    # The context must hold every request vLLM will get: the solver's 10-shot system message, the question, the cap.
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    for body in requests:
        prompt = tokenizer.apply_chat_template(body["messages"], chat_template=template, add_generation_prompt=True, tokenize=False)
        assert len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) + body["max_tokens"] <= metrics["max_model_len"]


def test_vllm_parses_hermes_tool_calls_for_bfcl(fake_vllm: dict[str, str], tiny_model: Path, bfcl_data: Path) -> None:
    evaluate_on_vllm(fake_vllm, "--model-path", str(tiny_model), "--benchmark", "bfcl", "--data", str(bfcl_data), "--limit", "1")
    argv, _, requests = recorded(fake_vllm)
    assert "--enable-auto-tool-choice" in argv and option(argv, "--tool-call-parser") == "hermes"
    assert requests[0]["tools"] and requests[0]["tools"][0]["type"] == "function"
