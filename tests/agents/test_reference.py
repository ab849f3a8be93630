"""The reference agent's recipe on local files in each data shape, and its options' errors (its whole trial
runs in the quickstart test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ptb
from posttrainbench.agents import create_agent
from posttrainbench.agents.reference_recipe import RECIPES, training_data
from posttrainbench.errors import PtbError
from posttrainbench.evaluation.benchmarks import all_benchmarks


def write(folder: Path, name: str, records: list[dict[str, object]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_every_benchmark_has_a_recipe_with_a_licence() -> None:
    assert set(RECIPES) == {b.id for b in all_benchmarks()}
    assert all(source.licence and source.hub_id for sources in RECIPES.values() for source in sources)


def test_chats_from_each_shape(tmp_path: Path, demo_gsm8k: Path) -> None:
    chats = [{"messages": [{"role": "user", "content": f"q{n}"}, {"role": "assistant", "content": f"a{n}"}]} for n in range(19)]
    write(tmp_path, "tulu-3-sft", chats + [{"messages": [{"role": "user", "content": "no answer"}]}])
    train, held = training_data("humaneval", tmp_path)
    assert (len(train), len(held)) == (18, 1)  # the chat without an assistant turn is left out; 5% held out
    assert sorted(c["prompt"][0]["content"] for c in train + held) == sorted(f"q{n}" for n in range(19))
    assert all(c["completion"][0]["content"] == "a" + c["prompt"][0]["content"][1:] for c in train)

    call = {"query": "Weather in Oslo?", "tools": json.dumps([{"name": "weather", "parameters": {"city": "str"}}]),
            "answers": json.dumps([{"name": "weather", "arguments": {"city": "Oslo"}}])}
    write(tmp_path, "xlam-function-calling", [call] * 4)
    train, _ = training_data("bfcl", tmp_path)
    assert '"name": "weather"' in train[0]["prompt"][0]["content"]
    assert json.loads(train[0]["completion"][0]["content"]) == [{"name": "weather", "arguments": {"city": "Oslo"}}]

    records = [json.loads(line) for line in (demo_gsm8k / "train.jsonl").read_text().splitlines()]
    write(tmp_path, "gsm8k-train", records)
    train, held = training_data("gsm8k", tmp_path)
    system, user = train[0]["prompt"]
    assert system["role"] == "system" and system["content"].count("ANSWER: ") == 10  # the evaluation's ten shots
    assert user["content"].startswith("Solve the following math problem step by step.")
    assert train[0]["completion"][0]["content"].splitlines()[-1].startswith("ANSWER: ")


def test_bad_options_are_one_line(tmp_path: Path, tiny_model: Path) -> None:
    with pytest.raises(PtbError, match="method must be auto, full or lora"):
        create_agent("reference", method="dpo")
    with pytest.raises(PtbError, match="does not exist"):
        create_agent("reference", data=str(tmp_path / "missing"))
    for arg, message in (("data", "--agent-arg takes KEY=VALUE"), ("colour=red", "colour")):
        out = ptb("run", "--agent", "reference", "--agent-arg", arg, "--model", str(tiny_model), "--family", "qwen3",
                  "--benchmark", "gsm8k", "--device", "cpu")
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and message in out.stderr, out.stderr
