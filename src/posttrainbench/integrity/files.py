"""Text out of every file an agent may leave training data in, as streams of bytes (memory stays bounded).

- plain text (anything without NUL bytes in its first 8 KiB: code, json/jsonl, csv, txt, md, ...);
- compressed: gzip, bzip2, xz, zstd, and zip members, recognised by their first bytes, whatever the name;
- columnar: ``.parquet`` and Arrow (``.arrow``, the HF datasets cache format): every string value, nested
  ones too, read from Arrow's buffers.

Binary files (weights, images, compiled code) and symbolic links are not read (weights are the lineage
check's business; links may point outside the workspace), nor are Inspect's evaluation logs. What cannot be
read is listed, with why, instead of failing the scan.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

BLOCK = 1 << 20
ROWS_PER_BATCH = 4096
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".onnx", ".h5", ".msgpack")
"""Model weight files: the lineage check's business, and what the harness prunes from what it keeps."""
NOT_TRAINING_DATA = (".eval",)
"""Inspect's own evaluation logs (the agent's evaluate.py runs hold the test items; evaluating is allowed)."""
SKIPPED_DIRS = {".git", "__pycache__", "node_modules", ".ptb"}
READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, lzma.LZMAError)


def text_streams(root: Path, exclude: set[str] | frozenset[str], skipped: list[str]) -> Iterator[tuple[str, Iterator[bytes]]]:
    """``(relative name, byte stream)`` for every text-bearing file under ``root`` (or ``root`` itself, a
    file), in sorted order."""
    top = root.parent if root.is_file() else root
    for path in [root] if root.is_file() else sorted(root.rglob("*")):
        relative = path.relative_to(top).as_posix()
        if path.is_symlink() or not path.is_file() or relative in exclude or SKIPPED_DIRS & set(path.relative_to(top).parts):
            continue
        try:
            for name, stream in _streams(relative, relative, lambda path=path: open(path, "rb")):
                yield name, _guarded(name, stream, skipped)
        except READ_ERRORS as error:
            skipped.append(f"{relative}: {type(error).__name__}: {error}"[:300])


def _guarded(name: str, stream: Iterator[bytes], skipped: list[str]) -> Iterator[bytes]:
    """The stream, ending early (and saying why in ``skipped``) where the file turns out unreadable."""
    try:
        yield from stream
    except READ_ERRORS as error:
        skipped.append(f"{name}: {type(error).__name__}: {error}"[:300])


def _streams(name: str, shown: str, opener: Callable[[], IO[bytes]]) -> Iterator[tuple[str, Iterator[bytes]]]:
    """The streams of one file, by what its first bytes say it is (a name is only a hint: text saved as
    ``data.pt`` is still read); ``shown`` is what the report calls it."""
    lower = name.lower()
    if lower.endswith(NOT_TRAINING_DATA):
        return
    with opener() as probe:
        head = probe.read(8192)
    for magic, suffix, decompress in _COMPRESSED:
        if head.startswith(magic):
            inner = name[: -len(suffix)] if lower.endswith(suffix) else name
            yield from _streams(inner, shown, lambda: decompress(opener()))
            return
    if head.startswith(b"PK\x03\x04"):
        with opener() as handle, zipfile.ZipFile(handle) as archive:
            for member in archive.infolist():
                if not member.is_dir():
                    member_name = f"{shown}/{member.filename}"
                    yield from _streams(member_name, member_name, lambda m=member: archive.open(m))
    elif head.startswith(b"PAR1"):
        yield shown, _rows(_parquet_batches(opener))
    elif head.startswith((b"ARROW1", b"\xff\xff\xff\xff")) or (lower.endswith(".arrow") and b"\x00" in head):
        yield shown, _rows(_arrow_batches(opener))
    elif b"\x00" not in head:
        yield shown, _blocks(opener(), b"")
    # anything else is binary (weights, images, compiled code): not text, and not read further


def _blocks(handle: IO[bytes], head: bytes) -> Iterator[bytes]:
    with handle:
        yield head
        while block := handle.read(BLOCK):
            yield block


def _zstd(handle: IO[bytes]) -> IO[bytes]:
    import zstandard

    return zstandard.ZstdDecompressor().stream_reader(handle, closefd=True)  # type: ignore[no-any-return]


_COMPRESSED: list[tuple[bytes, str, Callable[[IO[bytes]], IO[bytes]]]] = [
    (b"\x1f\x8b", ".gz", lambda handle: gzip.GzipFile(fileobj=handle)),  # type: ignore[list-item]
    (b"BZh", ".bz2", lambda handle: bz2.BZ2File(handle)),
    (b"\xfd7zXZ\x00", ".xz", lambda handle: lzma.LZMAFile(handle)),
    (b"\x28\xb5\x2f\xfd", ".zst", _zstd),
]


def _rows(batches: Iterator[Any]) -> Iterator[bytes]:
    """The text of every string value of each batch, nested ones too (lists, structs), straight from Arrow's
    buffers: no Python object per value."""
    for batch in batches:
        yield b"\n".join(part for column in batch.columns for part in _strings(column))


def _strings(array: Any) -> Iterator[bytes]:
    import pyarrow as pa

    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        if len(array) == 0:
            return
        wide = pa.types.is_large_string(kind) or pa.types.is_large_binary(kind)
        _, offsets, data = array.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int64 if wide else np.int32)[array.offset:array.offset + len(array) + 1]
        if data is not None:
            yield memoryview(data)[int(bounds[0]):int(bounds[-1])].tobytes()
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        yield from _strings(array.flatten())
    elif pa.types.is_struct(kind):
        for child in array.flatten():
            yield from _strings(child)
    elif pa.types.is_dictionary(kind):
        yield from _strings(array.dictionary)


def _parquet_batches(opener: Callable[[], IO[bytes]]) -> Iterator[Any]:
    import pyarrow.parquet as pq

    with opener() as handle:
        yield from pq.ParquetFile(handle).iter_batches(batch_size=ROWS_PER_BATCH)


def _arrow_batches(opener: Callable[[], IO[bytes]]) -> Iterator[Any]:
    import pyarrow as pa

    with opener() as handle:
        try:
            reader: Any = pa.ipc.open_stream(handle)
        except pa.ArrowInvalid:
            handle.seek(0)
            reader = pa.ipc.open_file(handle)
            for number in range(reader.num_record_batches):
                yield from _split(reader.get_batch(number))
            return
        for batch in reader:
            yield from _split(batch)


def _split(batch: Any) -> Iterator[Any]:
    for start in range(0, batch.num_rows, ROWS_PER_BATCH):
        yield batch.slice(start, ROWS_PER_BATCH)
