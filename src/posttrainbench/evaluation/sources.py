"""Where benchmark records come from: a pinned Hub dataset, a pinned URL, or a local file.

Every benchmark module describes its pinned source once (``HubSource`` or ``UrlSource``) and reads records
through ``load_records``. A local path given with ``--data`` replaces the pinned source; it holds the same
columns as the published dataset, as ``.jsonl``, ``.jsonl.gz``, ``.json``, ``.csv`` or ``.parquet``. A
directory is searched for a file named after the split (``test.jsonl``, ``train.parquet``, ``main/test-*.parquet``).
"""

from __future__ import annotations

import csv
import gzip
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posttrainbench import settings
from posttrainbench.errors import PtbError

Record = dict[str, Any]
LOCAL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".csv", ".parquet")


@dataclass(frozen=True)
class HubSource:
    """A dataset on the Hugging Face Hub at a pinned revision."""

    path: str
    split: str
    revision: str | None
    name: str | None = None
    data_dir: str | None = None
    gated: bool = False

    def describe(self) -> str:
        config = f" [{self.name or self.data_dir}]" if (self.name or self.data_dir) else ""
        return f"hf://{self.path}{config} {self.split} @ {self.revision or 'main'}"


@dataclass(frozen=True)
class UrlSource:
    """A file at a fixed URL, stored under the data directory by ``ptb data fetch``."""

    url: str
    filename: str
    """Path under ``<data dir>/<benchmark>/`` where the fetched file lives."""
    sha256: str | None = None
    """Expected digest where known; otherwise the digest seen at fetch time is recorded in the manifest."""

    def describe(self) -> str:
        return self.url


Source = HubSource | UrlSource


def fetched_path(benchmark_id: str, source: UrlSource) -> Path:
    return settings.data_dir() / benchmark_id / source.filename


def find_local_file(data: Path, split: str) -> Path:
    """The file for ``split`` in ``data`` (a file is used as it is)."""
    if data.is_file():
        return data
    if not data.is_dir():
        raise PtbError(f"data path {data} does not exist")
    candidates = [data / f"{split}{suffix}" for suffix in LOCAL_SUFFIXES]
    candidates += sorted(data.glob(f"{split}-*.parquet")) + sorted(data.glob(f"*/{split}-*.parquet"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise PtbError(f"data directory {data} has no {split} file ({split}.jsonl, {split}.parquet, ...)")


def read_file(path: Path) -> list[Record]:
    """Records of a local file, by its suffix."""
    name = path.name
    try:
        if name.endswith(".jsonl.gz"):
            with gzip.open(path, "rt") as handle:
                return _json_lines(handle, path)
        if name.endswith(".jsonl"):
            with open(path) as handle:
                return _json_lines(handle, path)
        if name.endswith(".json"):
            return _json_document(path)
        if name.endswith(".csv"):
            with open(path, newline="") as handle:
                return list(csv.DictReader(handle))
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pylist()  # type: ignore[no-any-return]
    except (OSError, ValueError) as error:
        raise PtbError(f"cannot read {path}: {error}") from None
    raise PtbError(f"unsupported data file {path} (use one of {', '.join(LOCAL_SUFFIXES)})")


def _json_document(path: Path) -> list[Record]:
    text = path.read_text()
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError:  # many published ".json" files (BFCL's among them) are JSON lines
        return _json_lines(text.split("\n"), path)  # not splitlines: texts may hold U+2028
    return loaded if isinstance(loaded, list) else [loaded]


def _json_lines(lines: Iterable[str], path: Path) -> list[Record]:
    records = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise PtbError(f"{path}:{number}: not JSON ({error.msg})") from None
    return records


def load_hub(source: HubSource) -> list[Record]:
    import datasets

    try:
        dataset = datasets.load_dataset(
            source.path, source.name, data_dir=source.data_dir, split=source.split, revision=source.revision
        )
    except Exception as error:  # datasets raises many unrelated types for "not cached and offline"
        hint = " (gated: log in with an accepted licence)" if source.gated else ""
        raise PtbError(
            f"cannot load {source.describe()}{hint}: {type(error).__name__}: {error}. "
            "Run `ptb data fetch` where the Hub is reachable, or pass --data with a local copy"
        ) from None
    return [dict(row) for row in dataset]


def load_records(benchmark_id: str, source: Source, data: Path | None, split: str | None = None) -> list[Record]:
    """Records from ``data`` when given, otherwise from the pinned ``source``."""
    if data is not None:
        return read_file(find_local_file(data, split or getattr(source, "split", "test")))
    if isinstance(source, HubSource):
        return load_hub(source)
    path = fetched_path(benchmark_id, source)
    if not path.is_file():
        raise PtbError(f"{benchmark_id} data is not fetched ({path} missing); run `ptb data fetch --benchmark {benchmark_id}`")
    return read_file(path)


def origin(source: Source, data: Path | None, split: str) -> str:
    """Where ``load_records`` takes ``split`` from, in words: the local file, or the pinned source."""
    return str(find_local_file(data, split)) if data is not None else source.describe()


def seeded_order(records: list[Record], seed: int) -> list[Record]:
    """The original's order for judged benchmarks: ``random.Random(seed).shuffle`` of the file order."""
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    return shuffled


def require_columns(records: list[Record], columns: Iterable[str], what: str) -> None:
    """One clear error for data in the wrong schema, instead of a KeyError deep inside Inspect."""
    if not records:
        raise PtbError(f"{what}: no records")
    missing = [column for column in columns if column not in records[0]]
    if missing:
        raise PtbError(f"{what}: records lack column(s) {', '.join(missing)} (has: {', '.join(sorted(records[0]))})")
