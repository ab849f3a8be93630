"""The ``hf`` backend: an Inspect model provider on transformers, with its own batching and tool-call parsing.

Inspect's stock ``hf`` provider picks tool-call parsing from substrings of the model path, waits 2 s of
quiet before each batch, and counts padding as generated tokens. This provider instead:

- renders prompts with the family's fixed chat template (passed in, never looked up from the path);
- batches concurrent requests: a batch starts as soon as ``batch_size`` requests wait, or when no new
  request came for ``BATCH_WINDOW_S`` (Inspect starts samples with small gaps; a short window would cut
  batches in pieces, and every batch costs about as much as a full one);
- generates in a process of its own (``hf_worker``), which keeps the model between evaluations of the
  same model in one process; ``dynamic`` mode (the ``fast`` profile below long caps) is ``generate`` over a
  dynamic cache; ``static`` mode pads prompts and batches for a static KV cache and a compiled forward
  pass; in ``paged`` mode (the ``fast`` profile on a GPU at long caps) every request goes to the
  process at once, for continuous batching, and no batches are formed here;
- parses Hermes-style ``<tool_call>{...}</tool_call>`` blocks into tool calls (an unparseable block stays
  text, as vLLM's parser leaves it) and counts only the tokens before end-of-sequence;
- moves a ``<think>`` block out of the completion into reasoning content, as Inspect's vLLM provider does.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posttrainbench.evaluation.backends.hf_worker import WorkerHandle, WorkerSpec

BATCH_WINDOW_S = 0.5
_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)


def parse_tool_calls(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Split a completion into its text and the Hermes tool calls it holds (name and arguments)."""
    calls = []
    for block in _TOOL_CALL.findall(text):
        try:
            call = json.loads(block)
        except json.JSONDecodeError:
            continue
        if isinstance(call, dict) and isinstance(call.get("name"), str):
            arguments = call.get("arguments", call.get("parameters", {}))
            calls.append({"name": call["name"], "arguments": arguments if isinstance(arguments, dict) else {}})
    content = _TOOL_CALL.sub("", text).strip() if calls else text
    return content, calls


def split_reasoning(text: str) -> Any:
    """The answer as Inspect's vLLM provider hands it to scorers: a ``<think>...</think>`` block becomes
    reasoning content, outside the completion that scorers read. Done with Inspect's own parser, so both
    backends split the same text the same way."""
    from inspect_ai._util.content import ContentReasoning, ContentText
    from inspect_ai.model._reasoning import parse_content_with_reasoning

    answer, reasoning = parse_content_with_reasoning(text)
    if reasoning is None:
        return text
    return [ContentReasoning(reasoning=reasoning.reasoning), ContentText(text=answer)]


def chat_dicts(messages: list[Any]) -> list[dict[str, Any]]:
    """Inspect chat messages as the dicts a Jinja chat template reads."""
    converted = []
    for message in messages:
        entry: dict[str, Any] = {"role": message.role, "content": message.text}
        if message.role == "assistant" and message.tool_calls:
            entry["tool_calls"] = [{"type": "function", "function": {"name": c.function, "arguments": c.arguments}}
                                   for c in message.tool_calls]
        converted.append(entry)
    return converted


@dataclass
class _Request:
    prompt: str
    settings: tuple[Any, ...]
    future: asyncio.Future[tuple[str, int, int]]
    loop: asyncio.AbstractEventLoop


@dataclass
class Generator:
    """Collects concurrent requests into batches and hands them to the generation process one at a time."""

    model_path: Path
    chat_template: str
    device: str
    batch_size: int
    cache: str = "dynamic"
    memory_share: float = 0.9
    _pending: list[_Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _last_arrival: float = 0.0
    _thread: threading.Thread | None = None
    _closed: bool = False
    _in_flight: int = 0
    _busy_since: float = 0.0
    batches: int = 0
    busy_seconds: float = 0.0
    """Time spent inside ``generate`` (the GPU's share of the evaluation's wall time)."""
    chunks: int = 0
    """Pieces the worker generated the batches in (more than ``batches`` where a batch did not fit in memory)."""
    fewest_rows: int | None = None
    """The smallest chunk size the worker chose (sized to memory, or after a split)."""
    oom_splits: int = 0
    """Chunks that ran out of memory and were split in two."""

    def __post_init__(self) -> None:
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)  # renders prompts; the worker generates
        self.worker = worker_for(WorkerSpec.of(self.model_path, self.device, self.batch_size, self.cache, self.memory_share))

    def render(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
        return str(self.tokenizer.apply_chat_template(
            messages, tools=tools or None, chat_template=self.chat_template, add_generation_prompt=True, tokenize=False))

    async def submit(self, prompt: str, settings: tuple[Any, ...]) -> tuple[str, int, int]:
        """Queue one prompt; returns (completion text, prompt tokens, generated tokens)."""
        if self.cache == "paged":
            return await self._continuous(prompt, settings)
        loop = asyncio.get_running_loop()
        request = _Request(prompt, settings, loop.create_future(), loop)
        with self._lock:
            self._pending.append(request)
            self._last_arrival = time.monotonic()
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="ptb-hf-batcher", daemon=True)
                self._thread.start()
        self._wake.set()
        return await request.future

    async def _continuous(self, prompt: str, settings: tuple[Any, ...]) -> tuple[str, int, int]:
        """One request as a job of its own; the GPU counts as busy while any request is in flight."""
        with self._lock:
            if self._in_flight == 0:
                self._busy_since = time.monotonic()
            self._in_flight += 1
        try:
            results, stats = await asyncio.wrap_future(self.worker.submit([prompt], settings))
        finally:
            with self._lock:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self.busy_seconds += time.monotonic() - self._busy_since
        with self._lock:
            self.batches += 1
            self.chunks += stats.chunks
            self.oom_splits = max(self.oom_splits, stats.oom_splits)  # a split is counted by every job it restarted
            self.fewest_rows = min(self.fewest_rows or stats.rows, stats.rows)
        return results[0]

    def close(self) -> None:
        """Stop the batcher at the end of an evaluation (the worker stays for the next one)."""
        with self._lock:
            self._closed = True
        self._wake.set()

    def _next_batch(self) -> list[_Request] | None:
        while True:
            self._wake.wait()
            with self._lock:
                if self._closed:
                    return None
                quiet = time.monotonic() - self._last_arrival >= BATCH_WINDOW_S
                if self._pending and (len(self._pending) >= self.batch_size or quiet):
                    settings = self._pending[0].settings  # one batch shares its sampling settings
                    batch, rest = [], []
                    for request in self._pending:
                        same = request.settings == settings and len(batch) < self.batch_size
                        (batch if same else rest).append(request)
                    self._pending = rest
                    if not self._pending:
                        self._wake.clear()
                    return batch
            time.sleep(0.01)

    def _serve(self) -> None:
        while (batch := self._next_batch()) is not None:
            started = time.monotonic()
            try:
                results, stats = self.worker.generate([r.prompt for r in batch], batch[0].settings)
                self.busy_seconds += time.monotonic() - started
                self.batches += 1
                self.chunks += stats.chunks
                self.oom_splits += stats.oom_splits
                self.fewest_rows = min(self.fewest_rows or stats.rows, stats.rows)
            except Exception as error:  # hand the failure to every waiting sample
                for request in batch:
                    request.loop.call_soon_threadsafe(_settle, request.future, None, error)
                continue
            for request, result in zip(batch, results, strict=True):
                request.loop.call_soon_threadsafe(_settle, request.future, result, None)


_worker: WorkerHandle | None = None


def worker_for(spec: WorkerSpec) -> WorkerHandle:
    """The process's generation worker for ``spec``: reused while it matches (so a second evaluation of
    the same model skips loading and compiling), replaced when it does not."""
    global _worker
    if _worker is not None and (_worker.spec != spec or not _worker.alive()):
        _worker.stop()
        _worker = None
    if _worker is None:
        _worker = WorkerHandle(spec)
    return _worker


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def openai_tool(tool: Any) -> dict[str, Any]:
    """A tool as a chat template gets it behind vLLM: the OpenAI function object Inspect sends (type, and the
    function's name, description and parameters without empty fields), which the original's templates render whole."""
    return {"type": "function", "function": {"name": tool.name, "description": tool.description,
                                             "parameters": tool.parameters.model_dump(exclude_none=True)}}


def make_model(model_path: Path, chat_template: str, device: str, batch_size: int, cache: str, memory_share: float) -> Any:
    """An Inspect ``Model`` backed by a ``Generator``."""
    from inspect_ai.model import GenerateConfig, Model

    generator = Generator(model_path, chat_template, device, batch_size, cache, memory_share)
    return Model(_api_factory()(model_name=str(model_path), generator=generator), GenerateConfig())


@functools.cache
def _api_factory() -> Any:
    """The provider class, registered with Inspect once (Inspect is imported only when evaluating)."""
    from inspect_ai.model import ChatCompletionChoice, ChatMessageAssistant, GenerateConfig, ModelAPI, ModelOutput, ModelUsage, modelapi
    from inspect_ai.tool import ToolCall

    class PtbHF(ModelAPI):
        def __init__(self, model_name: str, generator: Generator, **_: Any) -> None:
            super().__init__(model_name=model_name)
            self.generator = generator

        def max_connections(self) -> int:
            return self.generator.batch_size

        async def generate(self, input: list[Any], tools: list[Any], tool_choice: Any, config: GenerateConfig) -> Any:
            started = time.monotonic()
            specs = [openai_tool(tool) for tool in tools] if tools else None
            prompt = self.generator.render(chat_dicts(input), specs)
            settings = (config.max_tokens or 2048, config.temperature, config.top_p, config.top_k, config.seed,
                        tuple(config.stop_seqs or ()))
            text, prompt_tokens, new_tokens = await self.generator.submit(prompt, settings)
            content, calls = parse_tool_calls(text) if tools else (text, [])
            message = ChatMessageAssistant(
                content=split_reasoning(content), model=self.model_name, source="generate",
                tool_calls=[ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", function=c["name"], arguments=c["arguments"])
                            for c in calls] or None,
            )
            return ModelOutput(
                model=self.model_name,
                choices=[ChatCompletionChoice(message=message, stop_reason="tool_calls" if calls else "stop")],
                usage=ModelUsage(input_tokens=prompt_tokens, output_tokens=new_tokens, total_tokens=prompt_tokens + new_tokens),
                time=time.monotonic() - started,
            )

    return modelapi(name="ptb_hf")(PtbHF)
