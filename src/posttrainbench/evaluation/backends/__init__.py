"""Evaluation backends and settings profiles.

A backend turns a model directory into an Inspect model: ``vllm`` (Inspect's vLLM provider, which starts a
local vLLM server; the default where vLLM is installed and a GPU is present) or ``hf`` (this package's
transformers provider; CPU or GPU). Both apply the family's fixed chat template and parse Hermes-style
tool calls for tool-using benchmarks.

A profile sets how hard the backend is driven. ``upstream`` uses the original's concurrency and GPU
memory share per benchmark (judged benchmarks generate one answer at a time). ``fast`` (the default) keeps
the backend busy: many concurrent generations, most of the GPU memory for vLLM's cache, and on the ``hf``
backend on a GPU either batches over a dynamic KV cache or, from a token cap of ``CONTINUOUS_FROM_CAP`` on
and for more than ``CONTINUOUS_FROM_ITEMS`` items, continuous batching over a paged cache (chosen by
measurement: see ``hf_continuous``; a static cache with a compiled forward was slower at the benchmarks' caps). Under ``fast`` Inspect runs twice as many
samples as the ``hf`` backend puts in one batch, so the next batch is already queued when the GPU finishes
one (Inspect starts samples with small gaps; without the queue the GPU waits and batches come out uneven). Profiles change speed, not the prompts,
sampling settings or scoring: the same model outputs give the same scores under both.
"""

from __future__ import annotations

import importlib.util
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posttrainbench.evaluation.benchmarks import Benchmark
from posttrainbench.evaluation.backends.hf_continuous import CONTINUOUS_FROM_CAP, CONTINUOUS_FROM_ITEMS
from posttrainbench.errors import PtbError

BACKENDS = ("auto", "hf", "vllm")
PROFILES = ("fast", "upstream")
FAST_BATCH = 256
FAST_QUEUE_DEPTH = 2
FAST_GPU_MEMORY = 0.9


@dataclass(frozen=True)
class DriveSettings:
    """How one evaluation drives its backend."""

    profile: str
    max_connections: int
    """Concurrent generate calls Inspect makes (and samples it runs at once)."""
    batch_size: int
    """Largest batch the ``hf`` backend generates at once."""
    gpu_memory_utilization: float
    hf_cache: str
    """``static`` (padded prompts, static KV cache, compiled forward), ``dynamic``, or ``paged`` (continuous
    batching)."""


def drive_settings(profile: str, benchmark: Benchmark, device: str, max_connections: int | None = None,
                   cap: int | None = None, items: int | None = None) -> DriveSettings:
    """The profile's settings for a token cap (the benchmark's first by default) and a number of items (the
    whole test set by default); ``max_connections`` (a user override) sets Inspect's concurrency and caps the
    batch."""
    if profile not in PROFILES:
        raise PtbError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    if max_connections is not None and max_connections < 1:
        raise PtbError(f"max connections must be at least 1, got {max_connections}")
    if profile == "upstream":
        connections = max_connections or benchmark.max_connections
        return DriveSettings(profile, connections, connections, benchmark.gpu_memory_utilization, "dynamic")
    connections = max_connections or FAST_BATCH * FAST_QUEUE_DEPTH
    long_run = (cap or benchmark.default_max_tokens) >= CONTINUOUS_FROM_CAP and (items or benchmark.n_test) > CONTINUOUS_FROM_ITEMS
    cache = "paged" if device.startswith("cuda") and long_run else "dynamic"
    return DriveSettings(profile, connections, min(FAST_BATCH, connections), FAST_GPU_MEMORY, cache)


def vllm_installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def resolve_backend(backend: str, device: str) -> str:
    if backend not in BACKENDS:
        raise PtbError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
    if backend == "auto":
        return "vllm" if device.startswith("cuda") and vllm_installed() else "hf"
    if backend == "vllm" and not vllm_installed():
        raise PtbError("backend vllm needs the vllm package (pip install 'posttrainbench[vllm]'); or use --backend hf")
    return backend


PROMPT_ALLOWANCE = 4096
"""Tokens a benchmark's solvers may add to a sample's own messages (GSM8K's ten solved examples, about 2,000,
are the most); vLLM rejects a request whose prompt and cap exceed its context."""


def vllm_context(model_path: Path, chat_template: str, samples: list[Any], cap: int) -> int:
    """vLLM's ``max_model_len``: the longest rendered sample (tools included) plus the solvers' allowance and
    the cap, never more than the model's own context. A smaller context leaves vLLM more room for rows."""
    from transformers import AutoConfig, AutoTokenizer

    from posttrainbench.evaluation.backends.hf_provider import chat_dicts

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    longest = 0
    for sample in samples:
        messages = sample.input if isinstance(sample.input, list) else [_user(sample.input)]
        text = tokenizer.apply_chat_template(chat_dicts(messages), tools=(sample.metadata or {}).get("tools") or None,
                                             chat_template=chat_template, add_generation_prompt=True, tokenize=False)
        longest = max(longest, len(tokenizer(text, add_special_tokens=False)["input_ids"]))
    config = AutoConfig.from_pretrained(model_path)
    context = getattr(config.get_text_config(), "max_position_embeddings", None)
    wanted = longest + PROMPT_ALLOWANCE + cap
    return min(context, wanted) if context else wanted


def _user(text: str) -> Any:
    from inspect_ai.model import ChatMessageUser

    return ChatMessageUser(content=text)


def inspect_model(backend: str, model_path: Path, chat_template: str, device: str, drive: DriveSettings,
                  uses_tools: bool, workdir: Path, max_model_len: int | None = None) -> Any:
    """An Inspect model (or ``provider/name`` string with model args) for ``backend``."""
    if backend == "hf":
        from posttrainbench.evaluation.backends.hf_provider import make_model

        return make_model(model_path, chat_template, device, drive.batch_size, drive.hf_cache, drive.gpu_memory_utilization), {}
    template_file = Path(tempfile.mkstemp(suffix=".jinja", dir=workdir)[1])
    template_file.write_text(chat_template)  # vLLM reads the template from a file
    args: dict[str, Any] = {"gpu_memory_utilization": drive.gpu_memory_utilization, "chat_template": str(template_file)}
    if max_model_len is not None:
        args["max_model_len"] = max_model_len
    if uses_tools:
        args.update(enable_auto_tool_choice=True, tool_call_parser="hermes")
    return f"vllm/{model_path.resolve()}", args
