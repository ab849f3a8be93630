"""Normalised token n-grams as 64-bit hashes: the common currency of the contamination scanner and of the
decontamination check handed to the agent.

Text is lower-cased, the escapes a text takes inside a Python or JSON string (``\\n``, ``\\t``, ``\\"``) are
read as the characters they stand for, and tokens are runs of ASCII letters and digits, so ``def
has_close_elements(`` and ``"Def has close elements"`` give the same tokens. Each token's hash is a polynomial
of its bytes, and an n-gram's hash a polynomial of its tokens' hashes, both computed for a whole text at once
with NumPy and the same on every machine. Nothing here keeps the text itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

N = 8
"""Tokens per n-gram: long enough that unrelated texts rarely share one, short enough to survive renames."""
_ESCAPE = re.compile(rb"\\[ntr\"'\\]")
_TOKEN = re.compile(rb"[a-z0-9]+")
_TO_TOKENS = bytes(c + 32 if 65 <= c <= 90 else c if (97 <= c <= 122 or 48 <= c <= 57) else 32 for c in range(256))
"""Upper case to lower case, letters and digits kept, every other byte a separator."""
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_TOKEN_BASE = np.uint32(0x01000193)
_TOKEN_BASE_INVERSE = np.uint32(pow(0x01000193, -1, 1 << 32))


def normalise(data: bytes) -> bytes:
    """Lower case letters and digits, everything else a space; the escapes a text takes inside a string
    (``\\n``) become spaces too, or their letter would join the next word. Lengths are kept, so offsets hold."""
    if b"\\" in data:
        data = _ESCAPE.sub(b"  ", data)
    return data.translate(_TO_TOKENS)


def tokens(data: bytes) -> list[bytes]:
    return normalise(data).split()


def token_starts(data: bytes) -> list[int]:
    """Byte offset of each token of ``data``."""
    return [match.start() for match in _TOKEN.finditer(normalise(data))]


def text_hashes(data: bytes, n: int = N) -> np.ndarray:
    """The hash of every n-gram of ``data``'s tokens, in order (empty when there are fewer than ``n``).

    All in NumPy, no Python loop over tokens (three times faster than hashing each token on its own):
    a token's hash is ``sum(byte[t] * B ** (t - start))`` modulo 2**32, read off one running sum of
    ``byte[t] * B ** t`` times ``B ** -start`` (B is odd, so it has an inverse modulo 2**32); an n-gram's hash is then
    ``sum(token_hash[i + k] * M ** (n - 1 - k))`` modulo 2**64, built by doubling (n a power of two)."""
    text = np.frombuffer(normalise(data), dtype=np.uint8)
    in_token = np.zeros(len(text) + 2, dtype=np.bool_)
    np.not_equal(text, 32, out=in_token[1:-1])
    edges = np.flatnonzero(in_token[1:] != in_token[:-1])
    starts, ends = edges[0::2], edges[1::2]
    if len(starts) < n:
        return np.zeros(0, dtype=np.uint64)
    powers, inverse_powers = _powers(len(text))
    running = np.zeros(len(text) + 1, dtype=np.uint32)
    with np.errstate(over="ignore"):
        np.cumsum(np.multiply(text, powers[:len(text)], dtype=np.uint32), dtype=np.uint32, out=running[1:])
        grams = ((running[ends] - running[starts]) * inverse_powers[starts]).astype(np.uint64)
        width, multiplier = 1, _MULTIPLIER
        while width < n:
            grams = grams[:-width] * multiplier + grams[width:]
            width, multiplier = width * 2, multiplier * multiplier
    return grams


_powers_cache: tuple[np.ndarray, np.ndarray] = (np.ones(1, dtype=np.uint32), np.ones(1, dtype=np.uint32))


def _powers(length: int) -> tuple[np.ndarray, np.ndarray]:
    """``B ** t`` and ``B ** -t`` modulo 2**32 for ``t < length`` (kept, and grown by doubling)."""
    global _powers_cache
    if len(_powers_cache[0]) < length:
        size = 1 << (length - 1).bit_length()
        with np.errstate(over="ignore"):
            _powers_cache = tuple(  # type: ignore[assignment]
                np.concatenate(([np.uint32(1)], np.cumprod(np.full(size - 1, base, dtype=np.uint32), dtype=np.uint32)))
                for base in (_TOKEN_BASE, _TOKEN_BASE_INVERSE))
    return _powers_cache


def chunks(stream: Iterator[bytes], size: int = 4 << 20) -> Iterator[tuple[int, bytes]]:
    """``(offset, chunk)`` of about ``size`` bytes, each cut after whitespace and starting with the last
    ``N - 1`` tokens of the one before (so no n-gram is lost at a cut); ``offset`` is where the chunk starts
    in the whole stream."""
    carry, carry_at = b"", 0
    buffer = bytearray()
    for block in stream:
        buffer += block
        if len(buffer) < size:
            continue
        cut = max(buffer.rfind(b" ", 0, len(buffer)), buffer.rfind(b"\n", 0, len(buffer)))
        cut = len(buffer) if cut <= 0 else cut + 1
        body = bytes(buffer[:cut])
        del buffer[:cut]
        yield carry_at, carry + body
        carry, carry_at = _tail(carry + body, carry_at)
    if buffer:
        yield carry_at, carry + bytes(buffer)


def _tail(data: bytes, offset: int) -> tuple[bytes, int]:
    """The last ``N - 1`` tokens of ``data`` (from the start of the first of them), and where they start."""
    window = data[-4096:]
    starts = token_starts(window)
    if len(starts) < N - 1:
        return b"", offset + len(data)
    start = len(data) - len(window) + starts[-(N - 1)]
    return data[start:], offset + start
