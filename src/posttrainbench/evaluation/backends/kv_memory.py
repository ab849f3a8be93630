"""How many rows of a generation batch fit in GPU memory, from the model's shapes.

A row of a batch holds its KV cache for its whole length (prompt plus the token cap): per layer, keys and
values of ``num_key_value_heads x head_dim`` numbers per token, except that a sliding-window layer keeps at
most its window. On top of that a row needs working memory while its prompt is read in (the layer
activations of every prompt token) and for its logits. The ``hf`` backend sizes its batches with these
numbers against the memory left after loading the model, and splits a batch that still runs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SLIDING = "sliding_attention"
LOGIT_BYTES = 4  # logits are computed in float32
HEADROOM_BYTES = 2 << 30
"""Kept free for the allocator's fragments, CUDA graphs and kernels' workspaces."""


@dataclass(frozen=True)
class Shapes:
    """The numbers of a model's text stack that decide its memory per token."""

    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    hidden: int
    intermediate: int
    vocab: int
    layer_types: tuple[str, ...]
    window: int | None

    @classmethod
    def of(cls, config: Any) -> Shapes:
        """Read from a transformers config; a multimodal one (Gemma 3) by its text part."""
        text = config.get_text_config() if hasattr(config, "get_text_config") else config
        layers = text.num_hidden_layers
        heads = text.num_attention_heads
        types = tuple(getattr(text, "layer_types", None) or ["full_attention"] * layers)
        return cls(
            layers=layers,
            heads=heads,
            kv_heads=getattr(text, "num_key_value_heads", None) or heads,
            head_dim=getattr(text, "head_dim", None) or text.hidden_size // heads,
            hidden=text.hidden_size,
            intermediate=getattr(text, "intermediate_size", None) or 4 * text.hidden_size,
            vocab=text.vocab_size,
            layer_types=types[:layers],
            window=getattr(text, "sliding_window", None) if SLIDING in types else None,
        )


def kv_bytes(shapes: Shapes, tokens: int, dtype_bytes: int) -> int:
    """KV-cache bytes of one row of ``tokens`` tokens (sliding-window layers hold at most their window)."""
    per_token_and_layer = 2 * shapes.kv_heads * shapes.head_dim * dtype_bytes
    held = [min(tokens, shapes.window) if kind == SLIDING and shapes.window else tokens for kind in shapes.layer_types]
    return per_token_and_layer * sum(held)


def working_bytes(shapes: Shapes, prompt_tokens: int, new_tokens: int, dtype_bytes: int) -> int:
    """Peak working memory of one row besides its cache, while its prompt is read in: the attention
    projections and the MLP's gate, up, activated and output tensors of every prompt token; one layer's
    attention scores of every head over the whole cache (with a padding mask, PyTorch's attention may take
    its plain path, which holds them); the mask itself (float32); and two float32 rows of logits.

    Measured on an H200 capped at 80 GB, Qwen3-1.7B, prompts of 1,856 tokens and a 4,000-token cap with a
    static cache: 43 rows peaked at 50.9 GB, i.e. 1.10 GB a row besides the weights, of which the KV cache is
    0.67 GB; 86 rows ran out of memory. The scores (0.35 GB a row here) account for most of the difference.
    """
    per_prompt_token = (4 * shapes.hidden + 4 * shapes.intermediate) * dtype_bytes
    cache_length = prompt_tokens + new_tokens
    scores = shapes.heads * prompt_tokens * cache_length * dtype_bytes
    mask = prompt_tokens * cache_length * LOGIT_BYTES
    return prompt_tokens * per_prompt_token + scores + mask + 2 * shapes.vocab * LOGIT_BYTES


def rows_that_fit(shapes: Shapes, prompt_tokens: int, new_tokens: int, dtype_bytes: int, free_bytes: int) -> int:
    """How many rows of ``prompt_tokens + new_tokens`` fit in ``free_bytes`` (at least 1: one row always runs,
    and runs out of memory for real if it does not fit)."""
    per_row = kv_bytes(shapes, prompt_tokens + new_tokens, dtype_bytes) + working_bytes(shapes, prompt_tokens, new_tokens, dtype_bytes)
    return max(1, int((free_bytes - HEADROOM_BYTES) // per_row))


def gpu_budget(device: str, share: float) -> int:
    """Bytes this process may still allocate on ``device``: ``share`` of the GPU (and no more than a memory
    fraction set with ``torch.cuda.set_per_process_memory_fraction``) minus what it holds now."""
    import torch

    index = torch.device(device).index or 0
    free, total = torch.cuda.mem_get_info(index)
    fraction = getattr(torch.cuda, "get_per_process_memory_fraction", lambda _: 1.0)(index)
    capacity = total * fraction * share  # the share is of the memory the process may have at all
    return int(min(free, capacity - torch.cuda.memory_reserved(index)))
