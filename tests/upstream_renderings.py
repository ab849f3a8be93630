"""The prompt each family's model sees on each benchmark, rendered with the original's chat template files.

``tests/data/upstream_renderings.json`` holds the SHA-256 of the original's rendering of the messages below
(the shape each benchmark sends: one user turn; HealthBench's conversations; BFCL's tools), for every family
and benchmark. It was recorded from the original's files at commit 9082063 with

    git -C <PostTrainBench clone> show 9082063:src/eval/templates/<file> > <folder>/<file>   # the four files
    PYTHONPATH=src:tests python tests/upstream_renderings.py <folder>

which renders as vLLM does for the original: transformers' Jinja renderer, the generation prompt added, tools
as the OpenAI function objects of the request, written here from BFCL's function JSON by hand, with the
``additionalProperties: false`` that the original's Inspect (0.3.150) adds to every tool's parameters. The test
(``test_chat_templates.py``) renders through this project's path instead: the template chosen and checked by
``evaluation.chat_templates``, tools converted from Inspect's ``ToolInfo`` by the ``hf`` provider.
SmolLM3's template prints today's date; both sides render on a fixed date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).parent / "data" / "upstream_renderings.json"
FIXED_DATE = dt.datetime(2026, 12, 1, 12, 0, 0)
SPECIAL_TOKENS = {"qwen3": {}, "smollm3": {}, "gemma3": {"bos_token": "<bos>"}}
"""Special tokens the templates print, as the base models' tokenizers define them (Qwen3 and SmolLM3 print none)."""

QUESTION = [{"role": "user", "content": "What is 17 * 23? Put the final answer after ANSWER:."}]
CONVERSATION = [
    {"role": "user", "content": "I have had a headache for three days."},
    {"role": "assistant", "content": "How severe is it, and do you have a fever?"},
    {"role": "user", "content": "Mild, no fever. Should I see a doctor?"},
]
FUNCTIONS = [  # BFCL's function JSON: name, description, parameters
    {"name": "get_weather", "description": "Current weather of a city.",
     "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name."},
                                                     "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                    "required": ["city"]}},
    {"name": "convert", "description": "Convert an amount between currencies.",
     "parameters": {"type": "object", "properties": {"amount": {"type": "number"}, "to": {"type": "string"}},
                    "required": ["amount", "to"]}},
]
MESSAGES = {"aime2025": QUESTION, "gpqamain": QUESTION, "gsm8k": QUESTION, "humaneval": QUESTION,
            "arenahardwriting": QUESTION, "healthbench": CONVERSATION,
            "bfcl": [{"role": "user", "content": "What is the weather in Paris, and 20 euros in dollars?"}]}
UPSTREAM_FILES = {("qwen3", False): "qwen3.jinja", ("smollm3", False): "smollm.jinja", ("gemma3", False): "gemma3.jinja",
                  ("gemma3", True): "gemma3_tool_calling.jinja"}


def render(template: str, family: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
    """The prompt as transformers renders it (the generation prompt added), on ``FIXED_DATE``."""
    from transformers.utils import chat_template_utils

    class FixedDate(dt.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> dt.datetime:  # type: ignore[override]
            return FIXED_DATE

    real = chat_template_utils.datetime
    chat_template_utils.datetime = FixedDate  # type: ignore[misc]
    try:
        rendered, _ = chat_template_utils.render_jinja_template(
            conversations=[messages], tools=tools, chat_template=template, add_generation_prompt=True, **SPECIAL_TOKENS[family])
    finally:
        chat_template_utils.datetime = real  # type: ignore[misc]
    return str(rendered[0])


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record(folder: Path) -> dict[str, str]:
    """``family/benchmark`` -> SHA-256 of the original's rendering, from its files in ``folder``."""
    # Inspect 0.3.150 (the original's) sends ToolParams with additionalProperties false (its default) to vLLM
    vllm_tools = [{"type": "function", "function": {**function, "parameters": {**function["parameters"], "additionalProperties": False}}}
                  for function in FUNCTIONS]
    hashes = {}
    for family in SPECIAL_TOKENS:
        for benchmark, messages in MESSAGES.items():
            tools = benchmark == "bfcl"
            name = UPSTREAM_FILES.get((family, tools), UPSTREAM_FILES[(family, False)])
            template = (folder / name).read_bytes().decode("utf-8")
            hashes[f"{family}/{benchmark}"] = sha256(render(template, family, messages, vllm_tools if tools else None))
    return hashes


if __name__ == "__main__":
    RECORDED.parent.mkdir(exist_ok=True)
    RECORDED.write_text(json.dumps(record(Path(sys.argv[1])), indent=1, sort_keys=True) + "\n")
    print(f"wrote {RECORDED}")
