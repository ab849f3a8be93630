"""Continuous batching for the ``hf`` backend at long token caps: a row that ends frees its place at once.

A static batch lasts as long as its longest answer, and its KV cache is sized for the whole cap: at AIME's
16,000 tokens on an H200 capped at 80 GB, Qwen3-1.7B fit 29 rows and made about 90 tokens a second.
transformers' continuous batching keeps the cache in pages that a request takes as it grows, so about 230
requests ran at once and made about 1,640 tokens a second (``docs/performance.md``, issue 13). With 1,800-token
prompts and a 4,000-token cap (GSM8K) it was slower than static batches: its attention reads every cached
token of the batch at each step. So the backend uses it from ``CONTINUOUS_FROM_CAP`` tokens on, for test sets
of more than ``CONTINUOUS_FROM_ITEMS`` items.

Requests come in jobs (the prompts of one ``generate`` call of the provider, usually one) and each job is
answered when its last request ends. Sampling settings belong to the running manager: a job with other
settings waits until the running requests end and gets a new manager. If the GPU still runs out of memory,
transformers fails every running request; they are queued again, on a manager with half the slots and pages,
and the split is counted. A job fails only when a single slot does not fit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from posttrainbench.evaluation.backends.kv_memory import Shapes, kv_bytes

CONTINUOUS_FROM_CAP = 8_000
"""Token caps from which the ``fast`` profile on a GPU generates with continuous batching (AIME, GPQA,
Arena-Hard and HealthBench at their first caps, 16,000 and 16,384, and at the ladder's lower rungs)."""
CONTINUOUS_FROM_ITEMS = 64
"""Items from which continuous batching pays at long caps. With fewer, all of them run at once in either mode
and the run lasts as long as the longest answer; a step of a small static batch cost half as much (25 against
51 ms on an H200), so AIME's 30 items go faster in a static batch (projected 310 against 610 s)."""
SLOTS = 256
"""Requests generated together at most (measured: 256 slots made 2.6x the tokens per second of 32)."""
PAGE_SIZE = 256
CACHE_SHARE = 0.6
"""Share of the memory budget for the cache's pages; the rest is for masks, logits and CUDA graphs' pools
(with 0.8, GSM8K's 1,800-token prompts ran out of memory while a CUDA graph was captured)."""
CPU_CACHE_TOKENS = 16_384
"""The paged cache's size on a CPU (tests). transformers would otherwise take most of the machine's memory,
and its attention mask alone is tokens per pass x cached tokens (1 GB at 512 pages in float32)."""
BATCH_TOKENS = 2048
"""Tokens one forward pass reads at most: bounds the float32 logits of a prompt (Gemma 3's 262,208-entry
vocabulary ran out of memory at transformers' default, about 29,000 tokens) and the attention masks."""

Reply = Callable[[Any, str, Any], None]
"""``reply(job_id, "ok" or "error", value)``: sends a job's answer to the evaluating process."""


@dataclass
class _Job:
    prompts: list[list[int]]
    settings: tuple[Any, ...]
    results: list[tuple[str, int, int] | None]
    splits: int = 0
    requests: set[str] = field(default_factory=set)


class Continuous:
    """One model's continuous batching: jobs in, answers out through ``reply`` as their requests end."""

    def __init__(self, model: Any, tokenizer: Any, stop_ids: set[int], budget: int | None, reply: Reply) -> None:
        self.model, self.tokenizer, self.stop_ids, self.reply = model, tokenizer, stop_ids, reply
        self.budget = budget
        self.slots = SLOTS
        self.splits = 0
        self._manager: Any = None
        self._sampling: tuple[Any, ...] | None = None
        self._jobs: dict[Any, _Job] = {}
        self._owner: dict[str, tuple[Any, int]] = {}
        """Request id -> (job id, index of its prompt)."""
        self._changed = threading.Condition()
        self._collector: threading.Thread | None = None

    def add(self, job_id: Any, prompts: list[str], settings: tuple[Any, ...]) -> None:
        """Queue a job's prompts. Returns at once, unless the job needs other sampling settings than the
        running requests: then it waits for them to end first."""
        sampling = settings[1:5]
        with self._changed:
            if self._manager is not None and sampling != self._sampling:
                self._changed.wait_for(lambda: not self._jobs)
                self._stop_manager()
            ids = [self.tokenizer(prompt, add_special_tokens=False)["input_ids"] for prompt in prompts]
            if self._manager is None:
                self._start_manager(sampling)
            self._jobs[job_id] = _Job(ids, settings, [None] * len(ids))
            try:
                for index in range(len(ids)):
                    self._queue(job_id, index)
            except BaseException:  # the caller answers this job with the error: no one may wait for it
                self._drop(job_id)
                raise

    def pause(self) -> None:
        """Wait for every running job to end and free the manager's cache (the model is needed elsewhere)."""
        with self._changed:
            self._changed.wait_for(lambda: not self._jobs)
            self._stop_manager()

    def close(self) -> None:
        """Drop whatever runs: nobody waits for the answers any more."""
        with self._changed:
            self._stop_manager()

    def _drop(self, job_id: Any) -> _Job:
        job = self._jobs.pop(job_id)
        for request in job.requests:
            self._owner.pop(request, None)
        return job

    def _queue(self, job_id: Any, index: int) -> None:
        job = self._jobs[job_id]
        request = self._manager.add_request(job.prompts[index], max_new_tokens=job.settings[0])
        self._owner[request] = (job_id, index)
        job.requests.add(request)

    def _start_manager(self, sampling: tuple[Any, ...]) -> None:
        from transformers import ContinuousBatchingConfig, GenerationConfig

        temperature, top_p, top_k, seed = sampling
        sample = bool(temperature and temperature > 0)
        generation = GenerationConfig(
            do_sample=sample, temperature=temperature if sample else None, top_p=top_p if sample else None,
            top_k=top_k if sample else None, eos_token_id=sorted(self.stop_ids) or None,
            pad_token_id=self.tokenizer.pad_token_id)
        batching = ContinuousBatchingConfig(
            page_size=PAGE_SIZE, num_blocks=self._pages(), max_batch_tokens=BATCH_TOKENS,
            max_requests_per_batch=self.slots, allow_block_sharing=False, seed=seed,
            # CUDA graphs: 1.3x the tokens a second at 256 slots, 1.6x at 32 (measured); nothing to capture on a CPU
            use_cuda_graph=str(self.model.device).startswith("cuda"))
        self._manager = self.model.init_continuous_batching(generation_config=generation, continuous_batching_config=batching)
        self._sampling = sampling
        self._manager.start()
        self._changed.notify_all()  # wakes the collector
        if self._collector is None or not self._collector.is_alive():
            self._collector = threading.Thread(target=self._collect, name="ptb-hf-continuous", daemon=True)
            self._collector.start()

    def _pages(self) -> int:
        """Pages that fit in the cache's share of the budget (``CPU_CACHE_TOKENS`` on a CPU); transformers
        would size them from the free memory, ignoring a per-process memory fraction."""
        if self.budget is None:
            return CPU_CACHE_TOKENS // PAGE_SIZE
        per_page = PAGE_SIZE * kv_bytes(Shapes.of(self.model.config), 1, self.model.dtype.itemsize)
        return max(1, int(CACHE_SHARE * self.budget * self.slots / SLOTS // per_page))

    def _stop_manager(self) -> None:
        if self._manager is not None:
            self._manager.stop(block=True, hard_stop=True)
            self._manager, self._sampling = None, None
            self._owner.clear()

    def _collect(self) -> None:
        """Hand each finished request to its job; answer a job when its last request is in."""
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._manager is not None)
                manager = self._manager
            try:
                output = manager.get_result(timeout=0.2)
            except Exception:  # noqa: BLE001 - a manager stopped meanwhile: look again at the current one
                continue
            if output is None or not output.is_finished():
                continue
            with self._changed:
                if manager is not self._manager:  # a late answer of a manager replaced since
                    continue
                try:
                    self._settle(output)
                except Exception as error:  # noqa: BLE001 - e.g. no new manager after a split: fail, never hang
                    for job_id in list(self._jobs):
                        self._drop(job_id)
                        self.reply(job_id, "error", f"continuous batching failed: {type(error).__name__}: {error}")
                    self._manager, self._sampling = None, None  # a manager that half started: the next job makes a new one
                self._changed.notify_all()

    def _settle(self, output: Any) -> None:
        owner = self._owner.pop(output.request_id, None)
        if owner is None:  # a request of a manager that was stopped
            return
        job_id, index = owner
        job = self._jobs[job_id]
        job.requests.discard(output.request_id)
        if output.error is not None:
            self._failed(job_id, output.error)
            return
        tokens = list(output.generated_tokens)
        end = next((i for i, token in enumerate(tokens) if token in self.stop_ids), len(tokens))
        job.results[index] = (self.tokenizer.decode(tokens[:end], skip_special_tokens=True), len(job.prompts[index]), end)
        if all(result is not None for result in job.results):
            del self._jobs[job_id]
            stats = {"rows": self.slots, "chunks": 1, "oom_splits": job.splits}
            self.reply(job_id, "ok", (job.results, stats))

    def _failed(self, job_id: Any, error: str) -> None:
        """A failed request fails its job, unless the GPU ran out of memory and more than one slot is left:
        then every unfinished request starts again on a manager with half the slots."""
        if "out of memory" not in error.lower() or self.slots == 1:
            self._drop(job_id)
            self.reply(job_id, "error", f"continuous batching failed: {error}")
            return
        sampling = self._sampling
        self._stop_manager()
        self.slots = max(1, self.slots // 2)
        self.splits += 1
        self._start_manager(sampling)  # type: ignore[arg-type]  # a manager was running
        for queued_id, job in self._jobs.items():
            job.splits += 1
            job.requests.clear()
            for index, result in enumerate(job.results):
                if result is None:
                    self._queue(queued_id, index)
