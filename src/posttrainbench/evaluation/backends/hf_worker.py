"""The ``hf`` backend's generation process: owns the model and generates whole batches.

Generation runs in its own process, not in a thread of the evaluating one. Between two kernel launches
``generate`` needs the Python GIL for a moment; in a thread it waits for Inspect's event loop, which is
busy starting and scoring hundreds of samples, and the GPU idles (a batch took 9-10 s there against 6.7 s
alone on an H100). A process of its own also keeps compiled CUDA graphs away from the evaluating
process's shutdown.

``WorkerHandle`` starts the process (``python -m`` on this module; CUDA cannot be used in a forked child)
and sends it jobs over a socket pair: a job is a list of prompts with their sampling settings, and the
process answers it with one result per prompt: (completion text, prompt tokens, generated tokens up to
end-of-sequence). In ``static`` and ``dynamic`` mode a job is one batch, generated in chunks that fit in
memory, and jobs are answered in turn. In ``paged`` mode (long caps) the process queues each job's prompts
for continuous batching (``hf_continuous``) and answers a job when its last prompt ends, so many jobs are
in flight at once and answers come back in any order.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import threading
import traceback
from concurrent.futures import Future
from multiprocessing.connection import Connection
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from posttrainbench.errors import EvaluationError
from posttrainbench.evaluation.backends.hf_continuous import Continuous, Reply
from posttrainbench.evaluation.backends.kv_memory import Shapes, gpu_budget, rows_that_fit

PAD_MULTIPLE = 64
Settings = tuple[Any, ...]
"""(max new tokens, temperature, top_p, top_k, seed, stop sequences): one batch shares them."""


def cut_at_stop(text: str, stops: tuple[str, ...]) -> str:
    """The text before the first stop sequence, which is not part of the answer (as vLLM returns it)."""
    cut = min((index for stop in stops if (index := text.find(stop)) >= 0), default=len(text))
    return text[:cut]


@dataclass(frozen=True)
class WorkerSpec:
    model_path: Path
    device: str
    batch_size: int
    cache: str
    """``static`` (padded prompts and batch, static KV cache, compiled forward), ``dynamic``, or ``paged``
    (continuous batching; batches with stop sequences are generated as in ``dynamic``)."""
    memory_share: float = 0.9
    """Share of the GPU's memory the process may use (the profile's); batches are sized to fit in it."""
    weights: tuple[tuple[str, int, int], ...] = ()
    """Name, size and mtime of each model file: a rewritten model gets a new process."""

    @classmethod
    def of(cls, model_path: Path, device: str, batch_size: int, cache: str, memory_share: float = 0.9) -> WorkerSpec:
        files = tuple(sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in model_path.iterdir() if f.is_file()))
        return cls(model_path.resolve(), device, batch_size, cache, memory_share, files)


@dataclass
class BatchStats:
    """How the worker generated one batch: in how many chunks of how many rows, after how many splits."""

    rows: int
    chunks: int = 0
    oom_splits: int = 0


class WorkerHandle:
    """The evaluating process's end of one generation process. Jobs may be sent from any thread; a thread of
    the handle's own receives the answers and settles each job's future."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        ours, theirs = socket.socketpair()
        # A fresh interpreter on this module, not multiprocessing's spawn: spawn re-imports the caller's
        # main module, which breaks any script that calls ``evaluate`` without a ``__main__`` guard.
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(theirs.fileno())], pass_fds=[theirs.fileno()])
        theirs.close()
        self._conn = Connection(ours.detach())
        self._conn.send(spec)
        self._unwrap(*self._recv()[1:])  # wait until the model is loaded (or its error)
        self._lock = threading.Lock()  # guards the waiting jobs
        self._sending = threading.Lock()
        self._jobs: dict[int, Future[Any]] = {}
        self._ids = itertools.count()
        threading.Thread(target=self._receive_answers, name="ptb-hf-answers", daemon=True).start()

    def submit(self, prompts: list[str], settings: Settings) -> Future[tuple[list[tuple[str, int, int]], BatchStats]]:
        """Send a job; its future gets the results and how they were generated, or an ``EvaluationError``."""
        future: Future[Any] = Future()
        with self._lock:
            job_id = next(self._ids)
            self._jobs[job_id] = future
        try:
            with self._sending:
                self._conn.send((job_id, prompts, settings))
        except OSError:
            with self._lock:
                self._jobs.pop(job_id, None)
            if not future.done():
                future.set_exception(self._died())
        return future

    def generate(self, prompts: list[str], settings: Settings) -> tuple[list[tuple[str, int, int]], BatchStats]:
        return self.submit(prompts, settings).result()

    def alive(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        if self.alive():
            try:
                with self._sending:
                    self._conn.send(None)
                self._process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        self._conn.close()

    def _receive_answers(self) -> None:
        while True:
            try:
                job_id, status, value = self._recv()
            except EvaluationError as error:  # the process is gone: every waiting job fails
                with self._lock:
                    waiting, self._jobs = list(self._jobs.values()), {}
                for future in waiting:
                    future.set_exception(error)
                return
            with self._lock:
                future = self._jobs.pop(job_id)
            try:
                results, stats = self._unwrap(status, value)
                future.set_result((results, BatchStats(**stats)))  # a dict: the process's own classes live in its __main__
            except EvaluationError as error:
                future.set_exception(error)

    def _recv(self) -> tuple[Any, str, Any]:
        try:
            return self._conn.recv()
        except (EOFError, OSError):  # end of file or connection reset: the process is gone
            raise self._died() from None

    @staticmethod
    def _unwrap(status: str, value: Any) -> Any:
        if status == "error":
            print(value, file=sys.stderr)  # the generation process's traceback, for the evaluation's log
            raise EvaluationError(f"hf generation failed: {value.strip().splitlines()[-1]}")  # the cause, one line
        return value

    def _died(self) -> EvaluationError:
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        return EvaluationError(f"the hf generation process died (exit code {code})")


def _serve(conn: Connection) -> None:
    sending = threading.Lock()  # the continuous batching thread answers too

    def reply(job_id: Any, status: str, value: Any) -> None:
        with sending:
            conn.send((job_id, status, value))

    try:
        model = _Model(conn.recv(), reply=reply)
        reply(None, "ok", None)
    except Exception:  # noqa: BLE001 - reported to the evaluating process
        reply(None, "error", traceback.format_exc())
        return
    while (job := _receive(conn)) is not None:
        job_id, prompts, settings = job
        try:
            if model.continuous is not None and not settings[5]:
                model.continuous.add(job_id, prompts, settings)  # answered when its last prompt ends
                continue
            if model.continuous is not None:
                model.continuous.pause()  # the batch needs the model alone
            results, stats = model.generate(prompts, settings)
            reply(job_id, "ok", (results, asdict(stats)))
        except Exception:  # noqa: BLE001 - one failed job fails its samples, not the process
            reply(job_id, "error", traceback.format_exc())
    if model.continuous is not None:
        model.continuous.close()  # told to stop, or the evaluating process is gone: no one waits for answers
    conn.close()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip the interpreter's teardown: freeing compiled CUDA graphs during shutdown can crash the process.
    os._exit(0)


def _receive(conn: Connection) -> Any:
    """The next job, or None when told to stop or when the evaluating process has gone."""
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


class _Model:
    def __init__(self, spec: WorkerSpec, loaded: tuple[Any, Any] | None = None, reply: Reply | None = None) -> None:
        """Load the model of ``spec``, or take ``loaded`` (model, tokenizer) already in memory (benchmarks).
        In ``paged`` mode, ``reply`` sends the answers of continuous batching's jobs."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.spec = spec
        dtype = torch.bfloat16 if spec.device.startswith("cuda") else torch.float32
        if loaded is None:
            # use_kernels=False: the pinned transformers code generates, never kernels fetched from the Hub at load
            # time (transformers 5.25 fetches them by default on a GPU, and fails offline or without `kernels`)
            loaded = (AutoModelForCausalLM.from_pretrained(spec.model_path, dtype=dtype, device_map=spec.device, use_kernels=False).eval(),
                      AutoTokenizer.from_pretrained(spec.model_path))
        self.model, self.tokenizer = loaded
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if spec.cache == "static":
            self.model.generation_config.cache_implementation = "static"
        ids = self.model.generation_config.eos_token_id
        self.stop_ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
        if self.tokenizer.eos_token_id is not None:
            self.stop_ids.add(self.tokenizer.eos_token_id)
        self.may_end: dict[tuple[str, ...], Any] = {}
        self.shapes = Shapes.of(self.model.config)
        self.dtype_bytes = torch.finfo(dtype).bits // 8
        # Measured once, with the weights loaded: later the allocator also holds freed caches of earlier batches.
        self.budget = gpu_budget(spec.device, spec.memory_share) if spec.device.startswith("cuda") else None
        self.row_ceiling = spec.batch_size
        """Lowered for good when a chunk of that many rows ran out of memory."""
        self.continuous = None
        if spec.cache == "paged":
            self.continuous = Continuous(self.model, self.tokenizer, self.stop_ids, self.budget, reply or _no_reply)

    def rows_for(self, prompts: list[str], max_new_tokens: int) -> int:
        """Rows per chunk: the batch size, or fewer where their KV caches would not fit in the budget.

        Not cut to the number of prompts: with a static cache a short last chunk is padded to this size,
        because a new batch shape means a new compile."""
        if self.budget is None:
            return self.row_ceiling
        longest = max(len(ids) for ids in self.tokenizer(prompts, add_special_tokens=False)["input_ids"])
        longest = -(-longest // PAD_MULTIPLE) * PAD_MULTIPLE
        fit = rows_that_fit(self.shapes, longest, max_new_tokens, self.dtype_bytes, self.budget)
        return max(1, min(self.row_ceiling, fit))

    def generate(self, prompts: list[str], settings: Settings) -> tuple[list[tuple[str, int, int]], BatchStats]:
        """Generate in chunks that fit in memory; a chunk that still runs out is split in two and retried."""
        import torch

        stats = BatchStats(rows=self.rows_for(prompts, settings[0]))
        results: list[tuple[str, int, int]] = []
        while len(results) < len(prompts):
            chunk = prompts[len(results):len(results) + stats.rows]
            try:
                results += self._generate_chunk(chunk, settings, stats.rows)
            except torch.OutOfMemoryError:
                if len(chunk) == 1:
                    raise
                torch.cuda.empty_cache()
                stats.rows = self.row_ceiling = max(1, len(chunk) // 2)
                stats.oom_splits += 1
                continue
            stats.chunks += 1
        return results, stats

    def _generate_chunk(self, prompts: list[str], settings: Settings, rows: int) -> list[tuple[str, int, int]]:
        import torch

        max_new_tokens, temperature, top_p, top_k, seed, stops = settings
        count = len(prompts)
        pad: dict[str, Any] = {}
        if self.spec.cache == "static":
            # A new batch shape means a new compile, which costs far more than the spare rows.
            pad = {"pad_to_multiple_of": PAD_MULTIPLE}
            prompts = prompts + [prompts[0]] * (rows - count)
        encoded = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False, **pad).to(self.spec.device)
        options: dict[str, Any] = {"max_new_tokens": max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        if temperature and temperature > 0:
            options.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=top_k)
        else:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if stops:  # each row stops at a stop sequence and is padded from then on
            if stops not in self.may_end:
                self.may_end[stops] = may_end_mask(self.tokenizer, stops, self.spec.device)
            options["stopping_criteria"] = [_stop_at_text(self.tokenizer, stops, encoded["input_ids"].shape[1], self.may_end[stops])]
        if seed is not None:
            torch.manual_seed(seed)
        with torch.inference_mode(), sdpa_kernel(BATCH_ATTENTION):
            output = self.model.generate(**encoded, **options)
        new_tokens = output[:count, encoded["input_ids"].shape[1]:].tolist()
        prompt_lengths = encoded["attention_mask"][:count].sum(dim=1).tolist()
        ends = self.stop_ids | ({self.tokenizer.pad_token_id} if stops else set())
        results = []
        for tokens, prompt_length in zip(new_tokens, prompt_lengths, strict=True):
            end = next((i for i, token in enumerate(tokens) if token in ends), len(tokens))
            text = cut_at_stop(self.tokenizer.decode(tokens[:end], skip_special_tokens=True), stops or ())
            results.append((text, int(prompt_length), end))
        return results


def sdpa_kernel(backends: list[str]) -> Any:
    """Limit PyTorch's scaled-dot-product attention to ``backends`` (names of ``SDPBackend``) while generating."""
    from torch.nn.attention import SDPBackend, sdpa_kernel as limit

    return limit([getattr(SDPBackend, name) for name in backends])


BATCH_ATTENTION = ["FLASH_ATTENTION", "EFFICIENT_ATTENTION", "MATH"]
"""Attention kernels for batches decoded over a dynamic cache: not cuDNN's. cuDNN builds a new execution plan
for every key length it meets for the first time, and a decoding step's key length is always new: on an H200
that cost 35 to 45 ms a step (Qwen3-1.7B: 62 against 28 ms a step at HumanEval's shape, 67 against 23 at
GSM8K's; docs/performance.md, "cuDNN attention")."""


def _no_reply(job_id: Any, status: str, value: Any) -> None:
    raise RuntimeError("continuous batching needs a reply function")


def _stop_at_text(tokenizer: Any, stops: tuple[str, ...], prompt_length: int, may_end: Any) -> Any:
    """A stopping criterion that ends a row once its generated text holds a stop sequence.

    Not transformers' ``stop_strings``: that one precomputes how every vocabulary entry decodes and fails on
    tokenizers it does not understand (a word-level one raised "substring not found"), and it also matches a
    stop sequence that begins in the prompt. This one looks at the answer alone, as vLLM does: it decodes
    the last few generated tokens of the rows whose newest token may end a stop sequence (``may_end``, a
    mask over the vocabulary; decoding every row at every step cost a quarter of the generation time).
    """
    import torch
    from transformers import StoppingCriteria

    window = 4 * max(len(stop) for stop in stops)  # tokens: every token decodes to at least one character, most to more

    class StopAtText(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
            newest = input_ids[:, -1]
            rows = (may_end[newest.clamp(max=len(may_end) - 1)] | (newest >= len(may_end))).nonzero().flatten().tolist()
            if rows and input_ids.shape[1] > prompt_length:
                tails = tokenizer.batch_decode(input_ids[rows, prompt_length:][:, -window:].tolist(), skip_special_tokens=True)
                hits = [row for row, tail in zip(rows, tails, strict=True) if any(stop in tail for stop in stops)]
                done[hits] = True
            return done

    return StopAtText()


def may_end_mask(tokenizer: Any, stops: tuple[str, ...], device: str) -> Any:
    """Which token ids may complete a stop sequence: those whose text holds a stop's last character.

    Read from the raw vocabulary, where printable ASCII stands for itself in byte-level BPE and SentencePiece
    alike; a stop ending in any other character makes every token a candidate.
    """
    import torch

    vocab = tokenizer.get_vocab()
    finals = {stop[-1] for stop in stops}
    mask = torch.ones(max(vocab.values()) + 1, dtype=torch.bool)
    if all(final.isascii() and final.isprintable() for final in finals):
        mask[:] = False
        mask[[index for piece, index in vocab.items() if any(final in piece for final in finals)]] = True
    return mask.to(device)


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
