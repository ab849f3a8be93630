import json

import pytest

from conftest import ptb
from posttrainbench.catalog import all_models, get_family, get_model
from posttrainbench.evaluation.benchmarks import all_benchmarks, get_benchmark
from posttrainbench.errors import UnknownNameError


def test_seven_benchmarks_with_published_weights() -> None:
    ids = [b.id for b in all_benchmarks()]
    assert ids == ["aime2025", "arenahardwriting", "bfcl", "gpqamain", "gsm8k", "healthbench", "humaneval"]
    assert sum(b.weight for b in all_benchmarks()) == pytest.approx(1.0, abs=1e-9)
    assert get_benchmark("aime2025").weight == pytest.approx(0.226536549919078)
    assert get_benchmark("bfcl").weight == pytest.approx(0.0746078457817324)


def test_token_ladders_follow_the_original() -> None:
    assert [(s.max_tokens, s.attempts) for s in get_benchmark("gsm8k").ladder] == [(4000, 4), (3000, 3), (2000, 2)]
    assert [s.max_tokens for s in get_benchmark("gpqamain").ladder] == [16000, 12000, 8000]
    assert [s.max_tokens for s in get_benchmark("healthbench").ladder] == [16384, 12288, 8192]


def test_four_models_with_families_and_instruct_counterparts() -> None:
    models = {m.id: m for m in all_models()}
    assert set(models) == {"Qwen/Qwen3-1.7B-Base", "Qwen/Qwen3-4B-Base", "HuggingFaceTB/SmolLM3-3B-Base", "google/gemma-3-4b-pt"}
    assert get_model("google/gemma-3-4b-pt").instruct == "google/gemma-3-4b-it"
    assert get_model("HuggingFaceTB/SmolLM3-3B-Base").family == "smollm3"
    for model in models.values():
        assert "{%" in get_family(model.family).chat_template()


def test_unknown_benchmark_lists_known_ids() -> None:
    with pytest.raises(UnknownNameError, match="known: aime2025, arenahardwriting"):
        get_benchmark("mmlu")


def test_cli_json_listings() -> None:
    benchmarks = json.loads(ptb("benchmarks", "--json").stdout)
    assert {"id", "name", "weight"} <= set(benchmarks[0])
    assert len(benchmarks) == 7
    models = json.loads(ptb("models", "--json").stdout)
    assert {"id", "family", "instruct"} <= set(models[0])
    assert len(models) == 4


def test_cli_import_stays_light() -> None:
    code = "import sys, posttrainbench.cli; print(sorted(m for m in ('torch', 'inspect_ai', 'transformers', 'vllm') if m in sys.modules))"
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_doctor_reports_the_sandbox_and_extras() -> None:
    rows = {row["check"]: row for row in json.loads(ptb("doctor", "--json").stdout)}
    assert rows["sandbox none"]["detail"].startswith("no isolation")
    assert rows["[hf] evaluator"]["ok"] is True
    assert "sandbox bubblewrap" in rows and "GPUs" in rows and "agent codex" in rows
    assert rows["code jail"]["ok"] is (rows["code jail"]["detail"] == "works (bubblewrap)")
    assert rows["[hf] torch"]["detail"].startswith("installed: torch 2.")  # the versions a GPU user must match
    assert "0.169.0" in rows["agent codex"]["detail"]  # the pinned version, in the install hint or the version check
