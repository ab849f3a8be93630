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


def test_bad_options_are_one_line(tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PtbError, match="method must be auto, full or lora"):
        create_agent("reference", method="dpo")
    with pytest.raises(PtbError, match="evaluations must be a whole number of at least 1, got 0"):
        create_agent("reference", evaluations=0)
    for value in (0, -1.0, float("nan"), "abc"):
        with pytest.raises(PtbError, match="learning_rate must be a number above 0"):
            create_agent("reference", learning_rate=value)
    (tmp_path / "train.jsonl").write_text("{}\n")
    with pytest.raises(PtbError, match="is a file, not a folder"):
        create_agent("reference", data=str(tmp_path / "train.jsonl"))
    with pytest.raises(PtbError, match="data must name a folder"):
        create_agent("reference", data="")
    (tmp_path / "123").mkdir()
    monkeypatch.chdir(tmp_path)
    assert create_agent("reference", data=123).readable_paths() == [tmp_path / "123"]  # --agent-arg data=123 arrives as a number
    with pytest.raises(PtbError, match="compile must be auto, on or off"):
        create_agent("reference", compile="maybe")
    argv = create_agent("reference", compile="off", gradient_checkpointing="on", evaluations=3).command(
        type("Ctx", (), {"benchmark": "gsm8k", "base_model_path": Path("/m"), "hours": 1.0})())  # type: ignore[arg-type]
    assert argv[argv.index("--compile") + 1] == "off" and argv[argv.index("--gradient-checkpointing") + 1] == "on"
    assert argv[argv.index("--evaluations") + 1] == "3"
    with pytest.raises(PtbError, match="does not exist"):
        create_agent("reference", data=str(tmp_path / "missing"))
    for arg, message in (("data", "--agent-arg takes KEY=VALUE"), ("colour=red", "colour")):
        out = ptb("run", "--agent", "reference", "--agent-arg", arg, "--model", str(tiny_model), "--family", "qwen3",
                  "--benchmark", "gsm8k", "--device", "cpu")
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and message in out.stderr, out.stderr


def qwen3_1_7b_on_meta():  # type: ignore[no-untyped-def]
    """Qwen3-1.7B's shapes without memory (the meta device): enough to size its training."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    config = Qwen3Config(vocab_size=151936, hidden_size=2048, intermediate_size=6144, num_hidden_layers=28, num_attention_heads=16,
                         num_key_value_heads=8, head_dim=128, tie_word_embeddings=True)
    with torch.device("meta"):
        return Qwen3ForCausalLM(config)


def test_checkpointing_is_chosen_where_the_measured_runs_ran_out_of_memory() -> None:
    """Measured on an H200 capped at 80 GB (docs/performance.md): 8 x 2,048 tokens fit compiled (47.8 GB) and
    not compiled (64.8 GB); 16 x 2,048 compiled ran out of memory."""
    from posttrainbench.agents.reference_recipe import activations_fit

    model, gpu = qwen3_1_7b_on_meta(), 80 * 10**9
    assert activations_fit(model, 8 * 2048, gpu, full=True, compiled=True)
    assert activations_fit(model, 8 * 2048, gpu, full=True, compiled=False)
    assert not activations_fit(model, 16 * 2048, gpu, full=True, compiled=True)
    assert not activations_fit(model, 8 * 4096, gpu, full=True, compiled=False)
    assert activations_fit(model, 8 * 4096, 141 * 10**9, full=True, compiled=False)  # an H200's whole memory


def test_throughput_leaves_out_the_warm_up_and_the_evaluations(monkeypatch: pytest.MonkeyPatch) -> None:
    from posttrainbench.agents import reference_recipe

    clock = iter(float(t) for t in range(100))
    monkeypatch.setattr(reference_recipe.time, "perf_counter", lambda: next(clock))
    meter = reference_recipe.Throughput()
    for step in range(1, 9):
        meter.step_end(step, tokens_seen=step * 100)
        if step == 5:
            meter.paused()  # a held-out evaluation after step 5: the interval 5 -> 6 is not training
    assert (meter.steps, meter.tokens, meter.seconds) == (4, 400, 4.0)  # 3->4, 4->5, 6->7, 7->8
    assert meter.report(parameters=10**6, full=True).startswith("throughput: 100 tokens/s over 4 steps")
    assert "not measured" in reference_recipe.Throughput().report(parameters=10**6, full=True)


def test_compiling_the_layers_keeps_the_weights_names(tiny_model: Path) -> None:
    from transformers import AutoModelForCausalLM

    from posttrainbench.agents.reference_recipe import compile_layers

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    names = list(model.state_dict())
    compile_layers(model)
    layers = [m for m in model.modules() if type(m).__name__.endswith("DecoderLayer")]
    assert layers and all(layer._compiled_call_impl is not None for layer in layers)
    assert list(model.state_dict()) == names  # final_model saves under the base model's names
