"""Normalised token n-grams as 64-bit hashes: the common currency of the contamination scanner and of the
decontamination check handed to the agent.

Text is lower-cased, the escapes a text takes inside a Python or JSON string (``\\n``, ``\\t``, ``\\"``) are
read as the characters they stand for, and tokens are runs of ASCII letters and digits, so ``def
has_close_elements(`` and ``"Def has close elements"`` give the same tokens. Each token is hashed with CRC-32
(stable across processes and machines); an n-gram's hash is a polynomial of its tokens' hashes modulo 2**64,
computed for a whole text at once with NumPy. Nothing here keeps the text itself.
"""

from __future__ import annotations

import array
import re
import zlib
from collections.abc import Iterator

import numpy as np

N = 8
"""Tokens per n-gram: long enough that unrelated texts rarely share one, short enough to survive renames."""
_ESCAPE = re.compile(rb"\\[ntr\"'\\]")
_TOKEN = re.compile(rb"[a-z0-9]+")
_TO_TOKENS = bytes(c + 32 if 65 <= c <= 90 else c if (97 <= c <= 122 or 48 <= c <= 57) else 32 for c in range(256))
"""Upper case to lower case, letters and digits kept, every other byte a separator."""
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


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


def hashes(words: list[bytes], n: int = N) -> np.ndarray:
    """The hash of every n-gram of ``words``, in order (empty when there are fewer than ``n`` words):
    sum of ``crc32(word[i + k]) * M ** (n - 1 - k)`` modulo 2**64, built by doubling (n a power of two)."""
    if len(words) < n:
        return np.zeros(0, dtype=np.uint64)
    grams = np.frombuffer(array.array("I", map(zlib.crc32, words)), dtype=np.uint32).astype(np.uint64)
    width, multiplier = 1, _MULTIPLIER
    with np.errstate(over="ignore"):
        while width < n:
            grams = grams[:-width] * multiplier + grams[width:]
            width, multiplier = width * 2, multiplier * multiplier
    return grams


def text_hashes(data: bytes, n: int = N) -> np.ndarray:
    return hashes(tokens(data), n)


def chunks(stream: Iterator[bytes], size: int = 8 << 20) -> Iterator[tuple[int, bytes]]:
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
