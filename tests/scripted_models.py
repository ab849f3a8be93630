"""Inspect models with scripted replies, and data files in the benchmarks' schemas, for evaluator tests."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from posttrainbench.evaluation.runner import evaluate


def output(text: str = "", tool_calls: list[dict[str, Any]] | None = None) -> Any:
    from inspect_ai.model import ChatCompletionChoice, ChatMessageAssistant, ModelOutput, ModelUsage
    from inspect_ai.tool import ToolCall

    calls = [ToolCall(id=f"c{i}", function=c["name"], arguments=c["arguments"]) for i, c in enumerate(tool_calls or [])]
    message = ChatMessageAssistant(content=text, tool_calls=calls or None, source="generate")
    result = ModelOutput(model="scripted", choices=[ChatCompletionChoice(message=message)])
    result.usage = ModelUsage(input_tokens=3, output_tokens=2, total_tokens=5)  # offline: no tiktoken count
    return result


def scripted(answer: Callable[[list[Any]], Any]) -> Any:
    """A mockllm model whose reply is computed from the prompt messages."""
    from inspect_ai.model import get_model

    def respond(messages: list[Any], tools: Any, tool_choice: Any, config: Any) -> Any:
        reply = answer(messages)
        return reply if not isinstance(reply, str) else output(reply)

    return get_model("mockllm/model", custom_outputs=respond)


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def run(tiny_model: Path, benchmark: str, data: Path, model: Any, **kwargs: Any) -> dict[str, Any]:
    return evaluate(tiny_model, benchmark, data=data, model=model, device="cpu", **kwargs)


def gpqa_records(n: int) -> list[dict[str, Any]]:
    return [{"Question": f"Question {i}?", "Correct Answer": f"right {i}", "Incorrect Answer 1": f"wrong {i}a",
             "Incorrect Answer 2": f"wrong {i}b", "Incorrect Answer 3": f"wrong {i}c", "Record ID": f"rec{i}",
             "High-level domain": "Physics", "Subdomain": "Optics"} for i in range(n)]


def letter_of(text: str, wanted: str) -> str:
    return re.search(rf"^([A-D])\) {re.escape(wanted)}$", text, re.M).group(1)  # type: ignore[union-attr]
