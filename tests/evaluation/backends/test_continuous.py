"""Continuous batching in the hf backend (``paged`` mode): every job answered, out-of-memory split and go on."""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Any

import pytest

from posttrainbench.evaluation.benchmarks import get_benchmark
from posttrainbench.evaluation.backends import drive_settings
from posttrainbench.evaluation.backends.hf_continuous import CACHE_SHARE, CPU_CACHE_TOKENS, PAGE_SIZE
from posttrainbench.evaluation.backends.kv_memory import kv_bytes

pytestmark = pytest.mark.requires_hf

PROMPTS = [" ".join(f"word{i % 7}" for i in range(n)) for n in (3, 9, 5, 12, 7)]
GREEDY = (6, 0.0, None, None, None, ())


def test_the_fast_profile_on_a_gpu_batches_long_caps_of_many_items_continuously() -> None:
    aime, gpqa, gsm8k = get_benchmark("aime2025"), get_benchmark("gpqamain"), get_benchmark("gsm8k")
    assert drive_settings("fast", gpqa, "cuda").hf_cache == "paged"  # 16,000 tokens, 448 items
    assert drive_settings("fast", gpqa, "cuda", cap=8_000).hf_cache == "paged"  # the ladder's lowest rung
    assert drive_settings("fast", gpqa, "cuda", cap=4_000).hf_cache == "dynamic"
    assert drive_settings("fast", gpqa, "cuda", items=64).hf_cache == "dynamic"  # all at once in one batch
    assert drive_settings("fast", aime, "cuda").hf_cache == "dynamic"  # 30 items
    assert drive_settings("fast", aime, "cuda", items=256).hf_cache == "paged"
    assert drive_settings("fast", gsm8k, "cuda").hf_cache == "dynamic"  # measured: batches were faster there
    assert drive_settings("fast", gpqa, "cpu").hf_cache == "dynamic"
    assert drive_settings("upstream", gpqa, "cuda").hf_cache == "dynamic"


def test_a_paged_worker_answers_each_job_as_dynamic_batches_do(tiny_model: Path) -> None:
    from posttrainbench.evaluation.backends.hf_worker import WorkerHandle, WorkerSpec

    paged = WorkerHandle(WorkerSpec.of(tiny_model, "cpu", 8, "paged"))
    dynamic = WorkerHandle(WorkerSpec.of(tiny_model, "cpu", 8, "dynamic"))
    try:
        expected, _ = dynamic.generate(PROMPTS, GREEDY)
        jobs = [paged.submit([prompt], GREEDY) for prompt in PROMPTS]  # all in flight at once
        answers = [job.result(timeout=120) for job in jobs]
        assert [results[0] for results, _ in answers] == expected
        assert {stats.rows for _, stats in answers} == {256}  # continuous batching's slots, not the batch size
        # Stop sequences need the batch path (transformers' continuous batching has no stop strings).
        results, stats = paged.generate(PROMPTS[:2], (6, 0.0, None, None, None, ("\n",)))
        assert stats.rows == 8 and [r[1] for r in results] == [r[1] for r in expected[:2]]
        # Other sampling settings get a new manager once the running requests have ended.
        sampled = [paged.submit([prompt], (6, 1.0, 1.0, 0, 7, ())) for prompt in PROMPTS[:3]]
        assert all(len(job.result(timeout=120)[0]) == 1 for job in sampled)
    finally:
        paged.stop()
        dynamic.stop()


@pytest.fixture
def answers(tiny_model: Path) -> Any:
    from posttrainbench.evaluation.backends.hf_worker import WorkerSpec, _Model

    replies: queue.Queue[tuple[Any, str, Any]] = queue.Queue()
    model = _Model(WorkerSpec.of(tiny_model, "cpu", 8, "paged"), reply=lambda *answer: replies.put(answer))
    yield model, replies
    model.continuous.pause()


def run_out_of_memory(model: Any, times: int) -> None:
    """The model's next ``times`` forward passes fail as a GPU out of memory does."""
    import torch

    forward, failures = model.model.forward, iter(range(times))

    def failing(*args: Any, **kwargs: Any) -> Any:
        if next(failures, None) is not None:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 864.00 MiB.")
        return forward(*args, **kwargs)

    model.model.forward = failing


def test_running_out_of_memory_halves_the_slots_and_every_request_starts_again(answers: Any) -> None:
    model, replies = answers
    run_out_of_memory(model, times=1)
    for job_id, prompt in enumerate(PROMPTS):
        model.continuous.add(job_id, [prompt], GREEDY)
    got = {}
    for _ in PROMPTS:
        job_id, status, value = replies.get(timeout=120)
        assert status == "ok", value
        got[job_id] = value
    assert sorted(got) == list(range(len(PROMPTS)))
    assert model.continuous.slots == 128 and model.continuous.splits == 1
    assert max(stats["oom_splits"] for _, stats in got.values()) == 1
    assert [results[0][1] for results, _ in (got[i] for i in range(len(PROMPTS)))] == [
        len(ids) for ids in model.tokenizer(PROMPTS, add_special_tokens=False)["input_ids"]]


def test_a_job_fails_when_one_slot_does_not_fit(answers: Any) -> None:
    model, replies = answers
    model.continuous.slots = 2
    run_out_of_memory(model, times=10)
    model.continuous.add("job", PROMPTS[:1], GREEDY)
    job_id, status, value = replies.get(timeout=120)
    assert (job_id, status) == ("job", "error") and "out of memory" in value
    assert model.continuous.slots == 1 and model.continuous.splits == 1


def test_pages_fill_the_cache_share_of_the_budget(answers: Any) -> None:
    model, _ = answers
    assert model.continuous._pages() == CPU_CACHE_TOKENS // PAGE_SIZE  # a CPU: small, not most of the RAM
    per_page = PAGE_SIZE * kv_bytes(model.shapes, 1, model.dtype_bytes)
    model.continuous.budget = 1000 * per_page
    assert model.continuous._pages() == int(CACHE_SHARE * 1000)
    model.continuous.slots //= 2  # after a split: half the pages too
    assert model.continuous._pages() == int(CACHE_SHARE * 500)


def test_the_provider_sends_each_request_on_its_own_in_paged_mode(tiny_model: Path) -> None:
    import asyncio

    from posttrainbench.catalog import get_family
    from posttrainbench.evaluation.backends.hf_provider import Generator

    generator = Generator(tiny_model, get_family("qwen3").chat_template(), "cpu", batch_size=4, cache="paged")

    async def submit_all() -> list[tuple[str, int, int]]:
        return await asyncio.gather(*(generator.submit(prompt, GREEDY) for prompt in PROMPTS))

    results = asyncio.run(submit_all())
    assert generator.batches == len(PROMPTS) and generator.fewest_rows == 256  # no batches formed here
    assert [prompt_tokens for _, prompt_tokens, _ in results] == [
        len(ids) for ids in generator.tokenizer(PROMPTS, add_special_tokens=False)["input_ids"]]
    assert generator.busy_seconds > 0


def test_a_manager_that_cannot_restart_after_a_split_fails_the_jobs_instead_of_hanging(answers: Any) -> None:
    model, replies = answers
    run_out_of_memory(model, times=1)
    start = model.model.init_continuous_batching
    calls = iter(range(2))

    def once(*args: Any, **kwargs: Any) -> Any:
        if next(calls, None) is None or model.continuous.splits:
            raise RuntimeError("no memory left for a new cache")
        return start(*args, **kwargs)

    model.model.init_continuous_batching = once
    model.continuous.add("job", PROMPTS[:2], GREEDY)
    job_id, status, value = replies.get(timeout=120)
    assert (job_id, status) == ("job", "error") and "no memory left" in value
    model.model.init_continuous_batching = start
    model.continuous.add("next", PROMPTS[:1], GREEDY)  # a later job gets a new manager
    assert replies.get(timeout=120)[:2] == ("next", "ok")
