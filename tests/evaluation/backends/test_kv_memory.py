"""Batches of the hf backend sized to GPU memory from the model's shapes, and split when they still run out."""

from __future__ import annotations

from pathlib import Path

import pytest

from posttrainbench.evaluation.backends.kv_memory import HEADROOM_BYTES, Shapes, kv_bytes, rows_that_fit, working_bytes

BF16 = 2


def qwen3(**shape: int) -> object:
    from transformers import Qwen3Config

    return Qwen3Config(**{"vocab_size": 151936, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, **shape})


def test_kv_bytes_per_token_of_each_family() -> None:
    from transformers import Gemma3Config, SmolLM3Config

    qwen3_1_7b = Shapes.of(qwen3(hidden_size=2048, intermediate_size=6144, num_hidden_layers=28))
    assert kv_bytes(qwen3_1_7b, 1, BF16) == 28 * 2 * 8 * 128 * 2 == 114_688  # the "about 112 KB per token"
    qwen3_4b = Shapes.of(qwen3(hidden_size=2560, intermediate_size=9728, num_hidden_layers=36, num_attention_heads=32))
    assert kv_bytes(qwen3_4b, 1, BF16) == 36 * 2 * 8 * 128 * 2
    # SmolLM3's NoPE layers drop the rotary embedding, not the cache: all 36 layers hold keys and values.
    smollm3 = Shapes.of(SmolLM3Config(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
                                      num_attention_heads=16, num_key_value_heads=4, vocab_size=128256))
    assert kv_bytes(smollm3, 1, BF16) == 36 * 2 * 4 * 128 * 2
    # Gemma 3 4B, read through its multimodal config: 5 global layers, 29 sliding ones with a 1,024-token window.
    gemma3 = Shapes.of(Gemma3Config(text_config=dict(
        hidden_size=2560, intermediate_size=10240, num_hidden_layers=34, num_attention_heads=8, num_key_value_heads=4,
        head_dim=256, sliding_window=1024, vocab_size=262208)))
    per_token_layer = 2 * 4 * 256 * 2
    assert kv_bytes(gemma3, 512, BF16) == 34 * 512 * per_token_layer  # shorter than the window: every layer grows
    assert kv_bytes(gemma3, 16_000, BF16) == (5 * 16_000 + 29 * 1024) * per_token_layer  # 5x less than 34 full layers


def test_rows_that_fit_the_budget() -> None:
    shapes = Shapes.of(qwen3(hidden_size=2048, intermediate_size=6144, num_hidden_layers=28))
    per_row = kv_bytes(shapes, 256 + 16_000, BF16) + working_bytes(shapes, 256, 16_000, BF16)
    assert rows_that_fit(shapes, 256, 16_000, BF16, HEADROOM_BYTES + 37 * per_row) == 37
    assert rows_that_fit(shapes, 256, 16_000, BF16, HEADROOM_BYTES + 37 * per_row - 1) == 36
    assert rows_that_fit(shapes, 256, 16_000, BF16, 0) == 1  # one row always runs (and fails for real if it must)
    # An 80 GB card with Qwen3-1.7B loaded (3.4 GB of weights): about 32 rows at the AIME cap, not 256.
    assert 30 <= rows_that_fit(shapes, 256, 16_000, BF16, int(0.9 * 80e9) - int(3.4e9)) <= 36
    # GSM8K's 10-shot prompts of 1,856 tokens and the 4,000 cap: 43 rows peaked at 50.9 GB on the H200 and 86
    # ran out; the estimate stays between, with room under 0.9 x 80 GB.
    rows = rows_that_fit(shapes, 1_856, 4_000, BF16, int(0.9 * 80e9) - int(3.4e9))
    assert 43 < rows < 86 and 3.4e9 + rows * 1.10e9 < 0.9 * 80e9


@pytest.fixture
def local_model(tiny_model: Path):  # type: ignore[no-untyped-def]
    from posttrainbench.evaluation.backends.hf_worker import WorkerSpec, _Model

    return _Model(WorkerSpec.of(tiny_model, "cpu", 8, "dynamic"))


PROMPTS = [" ".join(["word"] * n) for n in (3, 9, 5, 12, 7)]
SETTINGS = (4, 0.0, None, None, None, ())


def prompt_tokens(model, prompts: list[str]) -> list[int]:  # type: ignore[no-untyped-def]
    return [len(ids) for ids in model.tokenizer(prompts, add_special_tokens=False)["input_ids"]]


def test_a_batch_is_cut_into_chunks_that_fit(local_model, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    per_row = (kv_bytes(local_model.shapes, 64 + 4, local_model.dtype_bytes)
               + working_bytes(local_model.shapes, 64, 4, local_model.dtype_bytes))
    local_model.budget = HEADROOM_BYTES + 2 * per_row  # as a GPU with room for two rows
    results, stats = local_model.generate(PROMPTS, SETTINGS)
    assert (stats.rows, stats.chunks, stats.oom_splits) == (2, 3, 0)
    assert [tokens for _, tokens, _ in results] == prompt_tokens(local_model, PROMPTS)  # every row, in order


def test_a_chunk_that_runs_out_of_memory_is_split_and_the_batch_goes_on(local_model, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import torch

    real = local_model._generate_chunk
    sizes: list[int] = []

    def two_rows_at_most(prompts: list[str], settings: tuple, rows: int) -> list:  # type: ignore[type-arg]
        sizes.append(len(prompts))
        if len(prompts) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(prompts, settings, rows)

    monkeypatch.setattr(local_model, "_generate_chunk", two_rows_at_most)
    results, stats = local_model.generate(PROMPTS, SETTINGS)
    assert sizes == [5, 2, 2, 1] and (stats.rows, stats.chunks, stats.oom_splits) == (2, 3, 1)
    assert [tokens for _, tokens, _ in results] == prompt_tokens(local_model, PROMPTS)
    assert local_model.generate(PROMPTS[:3], SETTINGS)[1].rows == 2  # later batches start at the lowered size
    monkeypatch.setattr(local_model, "_generate_chunk", lambda prompts, settings, rows: (_ for _ in ()).throw(
        torch.OutOfMemoryError("even one row")))
    with pytest.raises(torch.OutOfMemoryError):  # a single row that does not fit fails for real
        local_model.generate(PROMPTS[:1], SETTINGS)


def test_batches_decode_without_cudnn_attention(local_model, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """cuDNN's attention plans a kernel for every new key length: a batch decodes with the other kernels."""
    import torch

    real, seen = local_model.model.generate, []

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((torch.backends.cuda.cudnn_sdp_enabled(), torch.backends.cuda.flash_sdp_enabled()))
        return real(*args, **kwargs)

    monkeypatch.setattr(local_model.model, "generate", recording)
    assert torch.backends.cuda.cudnn_sdp_enabled()
    local_model.generate(PROMPTS[:2], SETTINGS)
    assert seen == [(False, True)] and torch.backends.cuda.cudnn_sdp_enabled()  # restored afterwards
