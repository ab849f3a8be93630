"""The ``hf`` backend: an Inspect model provider on transformers, with its own batching and tool-call parsing.

Inspect's stock ``hf`` provider picks tool-call parsing from substrings of the model path, waits 2 s of
quiet before each batch, and counts padding as generated tokens. This provider instead:

- renders prompts with the family's fixed chat template (passed in, never looked up from the path);
- batches concurrent requests: a batch starts as soon as ``batch_size`` requests wait, or when no new
  request came for ``BATCH_WINDOW_S`` (Inspect starts samples with small gaps; a short window would cut
  batches in pieces, and every batch costs about as much as a full one);
- in ``static`` cache mode (the ``fast`` profile on a GPU) pads prompts to a multiple of 64 tokens, fills
  a short batch up to ``batch_size`` with copies of its first prompt (a new batch shape would mean a new
  compile, which costs far more than the spare rows), and generates with a static KV cache and a compiled
  forward pass; ``dynamic`` mode is plain ``generate``;
- parses Hermes-style ``<tool_call>{...}</tool_call>`` blocks into tool calls (an unparseable block stays
  text, as vLLM's parser leaves it) and counts only the tokens before end-of-sequence.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BATCH_WINDOW_S = 0.5
# Every generate call of the process runs on this one thread: compiled CUDA graphs belong to the thread that
# recorded them, so a second evaluation in the same process must not generate from a new thread.
_GPU_THREAD = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ptb-hf-generate")
PAD_MULTIPLE = 64
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
    """Owns the model and runs batches in one worker thread (the GPU does one batch at a time anyway)."""

    model_path: Path
    chat_template: str
    device: str
    batch_size: int
    cache: str = "dynamic"
    _pending: list[_Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _last_arrival: float = 0.0
    _thread: threading.Thread | None = None
    _closed: bool = False
    batches: int = 0
    busy_seconds: float = 0.0
    """Time spent inside ``generate`` (the GPU's share of the evaluation's wall time)."""

    def __post_init__(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path, padding_side="left")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(self.model_path, dtype=dtype, device_map=self.device).eval()
        self.stop_ids = self._stop_ids()
        if self.cache == "static":
            self.model.generation_config.cache_implementation = "static"

    def _stop_ids(self) -> set[int]:
        ids = self.model.generation_config.eos_token_id
        stop = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
        if self.tokenizer.eos_token_id is not None:
            stop.add(self.tokenizer.eos_token_id)
        return stop

    def render(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
        return str(self.tokenizer.apply_chat_template(
            messages, tools=tools or None, chat_template=self.chat_template, add_generation_prompt=True, tokenize=False))

    async def submit(self, prompt: str, settings: tuple[Any, ...]) -> tuple[str, int, int]:
        """Queue one prompt; returns (completion text, prompt tokens, generated tokens)."""
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

    def close(self) -> None:
        """Stop the batcher and free the model. Call at the end of an evaluation, from its thread.

        The collection matters on a GPU: objects of the compiled static cache that are freed only at
        interpreter exit, after the generate thread is gone, crash the process (SIGSEGV) as it exits.
        """
        import gc

        with self._lock:
            self._closed = True
        self._wake.set()
        self.model = None
        gc.collect()

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
                results = _GPU_THREAD.submit(self.generate, [r.prompt for r in batch], batch[0].settings).result()
                self.busy_seconds += time.monotonic() - started
                self.batches += 1
            except Exception as error:  # hand the failure to every waiting sample
                for request in batch:
                    request.loop.call_soon_threadsafe(_settle, request.future, None, error)
                continue
            for request, result in zip(batch, results, strict=True):
                request.loop.call_soon_threadsafe(_settle, request.future, result, None)

    def generate(self, prompts: list[str], settings: tuple[Any, ...]) -> list[tuple[str, int, int]]:
        import torch

        max_new_tokens, temperature, top_p, top_k, seed = settings
        count = len(prompts)
        pad = {}
        if self.cache == "static":
            pad = {"pad_to_multiple_of": PAD_MULTIPLE}
            prompts = prompts + [prompts[0]] * (self.batch_size - count)
        encoded = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False, **pad).to(self.device)
        options: dict[str, Any] = {"max_new_tokens": max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        if temperature and temperature > 0:
            options.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=top_k)
        else:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if seed is not None:
            torch.manual_seed(seed)
        with torch.inference_mode():
            output = self.model.generate(**encoded, **options)
        new_tokens = output[:count, encoded["input_ids"].shape[1]:].tolist()
        prompt_lengths = encoded["attention_mask"][:count].sum(dim=1).tolist()
        results = []
        for tokens, prompt_length in zip(new_tokens, prompt_lengths, strict=True):
            end = next((i for i, token in enumerate(tokens) if token in self.stop_ids), len(tokens))
            text = self.tokenizer.decode(tokens[:end], skip_special_tokens=True)
            results.append((text, int(prompt_length), end))
        return results


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def make_model(model_path: Path, chat_template: str, device: str, batch_size: int, cache: str) -> Any:
    """An Inspect ``Model`` backed by a ``Generator``."""
    from inspect_ai.model import GenerateConfig, Model

    generator = Generator(model_path, chat_template, device, batch_size, cache)
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
            specs = [tool.model_dump(exclude_none=True) for tool in tools] if tools else None
            prompt = self.generator.render(chat_dicts(input), specs)
            settings = (config.max_tokens or 2048, config.temperature, config.top_p, config.top_k, config.seed)
            text, prompt_tokens, new_tokens = await self.generator.submit(prompt, settings)
            content, calls = parse_tool_calls(text) if tools else (text, [])
            message = ChatMessageAssistant(
                content=content, model=self.model_name, source="generate",
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
