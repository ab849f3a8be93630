"""BFCL ``exec_simple``: 100 requests that each need exactly one function call, scored by exact match.

As in the original: the record's functions are offered as tools, the model generates once (tools are never
executed), and a sample is correct only if the reply holds exactly one tool call whose name and arguments
equal the ground truth (Python equality; an optional argument the ground truth omits makes it wrong). The
backend turns Hermes-style ``<tool_call>{"name": ..., "arguments": ...}</tool_call>`` text into tool calls.

Local data: a file in the HF dataset's schema (``id``, ``question`` as a list with one list of messages,
``function``, ``ground_truth`` with one call expression), e.g. ``BFCL_v3_exec_simple.json``.

In the few-shot baseline there is no chat template to list the tools, so the user turn does it
(``plain_request``): the functions' JSON signatures and how to call one, then the request. The two shots
(``shots/bfcl.json``, written for this project) are worded the same way, each with a function of its own,
and answered with a ``<tool_call>`` block.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from posttrainbench.evaluation.benchmarks import Benchmark, Published, TaskOptions, ladder, memory_dataset, register_benchmark
from posttrainbench.evaluation.fewshot import Shot, Shots, written_shots
from posttrainbench.evaluation.sources import HubSource, load_records, require_columns
from posttrainbench.errors import PtbError

REVISION = "1bf8bbc3c0e35d04d00339c223a3fd653aa195ac"
"""The pinned revision of the test data."""
SOURCES = {
    "test": HubSource("gorilla-llm/Berkeley-Function-Calling-Leaderboard", "train", REVISION,
                      name="exec_simple"),
}
# BFCL writes Python type names in its JSON schemas; tool specs need JSON Schema names.
_TYPES = {"dict": "object", "float": "number", "tuple": "array", "list": "array", "int": "integer",
          "str": "string", "bool": "boolean", "any": None}


def json_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """A BFCL parameter spec with its type names (recursively) made JSON Schema."""
    schema = dict(spec)
    if "type" in schema:
        kind = _TYPES.get(schema["type"], schema["type"])
        if kind is None:
            del schema["type"]
        else:
            schema["type"] = kind
    if isinstance(schema.get("properties"), dict):
        schema["properties"] = {name: json_schema(value) for name, value in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        schema["items"] = json_schema(schema["items"])
    return schema


def parse_ground_truth(expression: str) -> dict[str, Any]:
    """``f(a=1, b=[2])`` -> ``{"name": "f", "arguments": {"a": 1, "b": [2]}}`` (JSON types: tuples become lists).

    Like the original, an argument whose value is not a Python literal is left out.
    """
    call = ast.parse(expression.strip(), mode="eval").body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        raise PtbError(f"BFCL ground truth is not a call of a plain function name: {expression!r}")
    arguments = {}
    for keyword in call.keywords:
        try:
            arguments[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            continue
    return json.loads(json.dumps({"name": call.func.id, "arguments": arguments}))


def to_sample(record: dict[str, Any]) -> Any:
    from inspect_ai.dataset import Sample
    from inspect_ai.tool import ToolInfo, ToolParams

    if len(record["question"]) != 1 or len(record["ground_truth"]) != 1:
        raise PtbError(f"BFCL record {record.get('id')} must have one question and one ground truth")
    tools = [
        ToolInfo(name=f["name"], description=f.get("description", ""), parameters=ToolParams.model_validate(json_schema(f["parameters"])))
        for f in record["function"]
    ]
    return Sample(
        id=record.get("id"),
        input=[{"role": m["role"], "content": m["content"]} for m in record["question"][0]],  # type: ignore[misc]
        target=json.dumps(parse_ground_truth(record["ground_truth"][0])),
        metadata={"tools": [tool.model_dump(exclude_none=True) for tool in tools]},
    )


def single_call_matches(messages: list[Any], expected: dict[str, Any]) -> tuple[bool, str]:
    """The original's rule: one assistant message with exactly one call, name and arguments equal."""
    replies = [m for m in messages if m.role == "assistant"]
    if len(replies) != 1:
        return False, f"{len(replies)} assistant messages"
    calls = replies[0].tool_calls or []
    if len(calls) != 1:
        return False, f"{len(calls)} tool calls"
    call = calls[0]
    if call.function != expected["name"]:
        return False, f"called {call.function}"
    if call.arguments != expected["arguments"]:
        return False, f"arguments {json.dumps(call.arguments)}"
    return True, "exact match"


def plain_request(tools: list[dict[str, Any]], request: str) -> str:
    """The few-shot user turn: the functions (name, description, parameters) and the call format, then the request."""
    signatures = "\n".join(json.dumps({k: tool[k] for k in ("name", "description", "parameters") if k in tool}) for tool in tools)
    return (f"Functions you can call, one JSON signature per line:\n{signatures}\n\n"
            "To call a function, answer with a JSON object holding its name and arguments inside <tool_call></tool_call> tags.\n\n"
            f"{request}")


def shots(data: Path | None) -> Shots:
    return written_shots("bfcl", lambda item: Shot(plain_request(item["tools"], item["request"]),
                                                   f"<tool_call>\n{json.dumps(item['call'])}\n</tool_call>"))


def build(data: Path | None, options: TaskOptions) -> Any:
    from inspect_ai import Task
    from inspect_ai.scorer import CORRECT, INCORRECT, Score, accuracy, scorer, stderr
    from inspect_ai.solver import solver
    from inspect_ai.tool import ToolInfo

    @solver
    def call_once() -> Any:
        async def solve(state: Any, generate: Any) -> Any:
            state.tools.extend(ToolInfo.model_validate(tool) for tool in state.metadata["tools"])
            if options.few_shot:
                state.user_prompt.text = plain_request(state.metadata["tools"], state.user_prompt.text)
            return await generate(state, tool_calls="none")  # one reply; the calls are never executed

        return solve

    @scorer(metrics=[accuracy(), stderr()])
    def exact_call() -> Any:
        async def score(state: Any, target: Any) -> Any:
            correct, why = single_call_matches(state.messages, json.loads(target.text))
            return Score(value=CORRECT if correct else INCORRECT, explanation=why)

        return score

    records = load_records("bfcl", SOURCES["test"], data)
    require_columns(records, ("question", "function", "ground_truth"), "bfcl data")
    return Task(name="bfcl", dataset=memory_dataset(records, to_sample, "bfcl"),
                solver=call_once(), scorer=exact_call())


register_benchmark(Benchmark(
    id="bfcl",
    name="Berkeley Function Calling Leaderboard (BFCL)",
    weight=0.0746078457817324,
    published=Published(instruct=85.0, base=1.5),
    dataset="gorilla-llm/Berkeley-Function-Calling-Leaderboard (exec_simple, train)",
    revision=REVISION,
    n_test=100,
    dev_limit=None,
    max_connections=6,
    gpu_memory_utilization=0.8,
    ladder=ladder(16000, 12000, 8000),
    training_note="The exec_simple split is the test set: training on it is contamination.",
    sources=SOURCES, build=build, shots=shots, uses_tools=True,
))
