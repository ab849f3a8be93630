"""The contamination scanner: which of the benchmark's test items appear in what the agent left.

Each test item's text fields (question, answer, reference solution, test code, rubric, ...) become sets of
hashed n-grams (``ngrams.py``). N-grams that the benchmark's allowed training data also holds (GSM8K train
for gsm8k), or that three or more items share (boilerplate), are dropped: they say nothing about one item.
The scan streams every text-bearing file of the workspace, plain or compressed, in chunks (memory stays
bounded), looks each n-gram up in the index with NumPy, and counts hits.

An item is **found** when one of its fields has at least ``FOUND_OVERLAP`` of its n-grams in the scanned
files; the verdict is ``flagged`` when more than ``TOLERATED_ITEMS`` items are found (the original's judges
tolerate up to three verbatim items, as a few may come in through generic data). Each found item is
reported with its overlap, how often its n-grams occur, and the first place one was seen (file, byte offset,
the text there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from posttrainbench.integrity import ngrams
from posttrainbench.integrity.files import text_streams

FOUND_OVERLAP = 0.5
"""Share of one field's n-grams that must appear for its item to count as found."""
TOLERATED_ITEMS = 3
"""Found items tolerated before the verdict is ``flagged``."""
COMMON_ITEMS = 3
"""An n-gram shared by this many items is boilerplate and is not indexed."""
EXCERPT_BYTES = 160
PREFILTER_BITS = 22
PROGRESS_BYTES = 1 << 30
"""A long scan says how far it has come after each GiB of text."""
_SHIFT = np.uint64(64 - PREFILTER_BITS)
ID_FIELDS = ("id", "task_id", "Record ID", "prompt_id", "question_id", "uid", "unique_id")


@dataclass(frozen=True)
class TestItem:
    id: str
    fields: dict[str, str]
    """Field name -> text, for every text field of the item."""


def items_from_records(records: list[dict[str, Any]]) -> list[TestItem]:
    """Test items from records in the benchmark's published schema: every string they hold, by field path."""
    items = []
    for number, record in enumerate(records):
        found_id = next((record[name] for name in ID_FIELDS if isinstance(record.get(name), str | int)), number + 1)
        items.append(TestItem(str(found_id), dict(_strings(record, ""))))
    return items


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path or "text", value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _strings(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for number, inner in enumerate(value):
            yield from _strings(inner, f"{path}[{number}]")


@dataclass
class ItemIndex:
    """Hashed n-grams of the test items; ``keys`` is sorted, and ``unit_keys``/``unit_of`` say which field
    ("unit") holds each key. No text is kept."""

    item_ids: list[str]
    keys: np.ndarray
    unit_keys: np.ndarray
    """Index into ``keys`` of each (key, unit) pair."""
    unit_of: np.ndarray
    unit_item: np.ndarray
    """Item of each unit."""
    unit_sizes: np.ndarray
    """Indexed n-grams of each unit."""
    unit_names: list[str]
    """The field of each unit."""
    prefilter: np.ndarray = field(init=False, repr=False)
    """One bit per value of a hash's top ``PREFILTER_BITS`` bits: most n-grams of a scan are ruled out here,
    before the (slower) binary search."""

    def __post_init__(self) -> None:
        self.prefilter = np.zeros(1 << PREFILTER_BITS, dtype=bool)
        self.prefilter[self.keys >> _SHIFT] = True

    @classmethod
    def build(cls, items: list[TestItem], allowed: Iterable[str] = ()) -> ItemIndex:
        pair_keys, pair_units, unit_item, unit_names = [], [], [], []
        for number, item in enumerate(items):
            for name, text in item.fields.items():
                grams = np.unique(ngrams.text_hashes(text.encode()))
                if grams.size:
                    pair_keys.append(grams)
                    pair_units.append(np.full(grams.size, len(unit_item), dtype=np.int32))
                    unit_item.append(number)
                    unit_names.append(name)
        keys = np.concatenate(pair_keys) if pair_keys else np.zeros(0, dtype=np.uint64)
        units = np.concatenate(pair_units) if pair_units else np.zeros(0, dtype=np.int32)
        items_of = np.asarray(unit_item, dtype=np.int32)[units]
        keep = ~_common(keys, items_of) & ~np.isin(keys, _allowed_hashes(allowed))
        keys, units = keys[keep], units[keep]
        unique = np.unique(keys)
        return cls([item.id for item in items], unique, np.searchsorted(unique, keys), units,
                   np.asarray(unit_item, dtype=np.int32), np.bincount(units, minlength=len(unit_item)), unit_names)

    def save(self, path: Path) -> None:
        """The index as hashes and numbers only (item ids and field names are left out): what the agent's
        decontamination check gets, so that it can test its data without ever seeing a test item."""
        with open(path, "wb") as handle:
            np.savez_compressed(handle, keys=self.keys, unit_keys=self.unit_keys, unit_of=self.unit_of,
                                unit_item=self.unit_item, unit_sizes=self.unit_sizes)

    @classmethod
    def load(cls, path: Path) -> ItemIndex:
        """A saved index; ``ValueError`` (one line) for a file that is not one."""
        try:
            with np.load(path, allow_pickle=False) as saved:
                arrays = {name: saved[name] for name in ("keys", "unit_keys", "unit_of", "unit_item", "unit_sizes")}
        except Exception as error:  # noqa: BLE001 - empty, truncated, not a zip, missing arrays: all mean the same
            raise ValueError(f"not a test n-gram index ({type(error).__name__}: {error})") from None
        units = arrays["unit_item"]
        if (arrays["keys"].dtype != np.uint64 or any(arrays[n].dtype.kind != "i" for n in ("unit_keys", "unit_of", "unit_item", "unit_sizes"))
                or arrays["unit_keys"].shape != arrays["unit_of"].shape or units.shape != arrays["unit_sizes"].shape
                or (arrays["unit_keys"].size and int(arrays["unit_keys"].max()) >= arrays["keys"].size)
                or (arrays["unit_of"].size and int(arrays["unit_of"].max()) >= units.size)):
            raise ValueError("not a test n-gram index (its arrays do not fit together)")
        items = int(units.max()) + 1 if units.size else 0
        return cls([f"test item {n + 1}" for n in range(items)], arrays["keys"], arrays["unit_keys"], arrays["unit_of"],
                   units, arrays["unit_sizes"], ["text"] * units.size)

    def best_units(self, keys: np.ndarray) -> list[tuple[int, float]]:
        """For the distinct key indexes ``keys`` seen in one document: each item it holds at least
        ``FOUND_OVERLAP`` of (through one field), with that share."""
        if not keys.size:
            return []
        by_key = self._pairs_by_key
        sorted_keys = self.unit_keys[by_key]
        starts = np.searchsorted(sorted_keys, keys, "left")
        ends = np.searchsorted(sorted_keys, keys, "right")
        pairs = np.concatenate([by_key[start:end] for start, end in zip(starts, ends, strict=True)])
        units, counts = np.unique(self.unit_of[pairs], return_counts=True)
        share = counts / self.unit_sizes[units]
        best: dict[int, float] = {}
        for unit, value in zip(units[share >= FOUND_OVERLAP], share[share >= FOUND_OVERLAP], strict=True):
            item = int(self.unit_item[unit])
            best[item] = max(best.get(item, 0.0), float(value))
        return sorted(best.items())

    @cached_property
    def _pairs_by_key(self) -> np.ndarray:
        """The (key, unit) pairs ordered by key."""
        return np.argsort(self.unit_keys, kind="stable")

    @cached_property
    def owners(self) -> np.ndarray:
        """How many fields hold each key."""
        return np.bincount(self.unit_keys, minlength=self.keys.size)

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """For each hash, its index in ``keys``, or -1."""
        found = np.full(hashes.size, -1)
        candidates = np.nonzero(self.prefilter[hashes >> _SHIFT])[0]
        if candidates.size:
            wanted = hashes[candidates]
            position = np.minimum(np.searchsorted(self.keys, wanted), self.keys.size - 1)
            found[candidates] = np.where(self.keys[position] == wanted, position, -1)
        return found


def _common(keys: np.ndarray, items_of: np.ndarray) -> np.ndarray:
    """Whether each key is held by ``COMMON_ITEMS`` or more distinct items."""
    if not keys.size:
        return np.zeros(0, dtype=bool)
    pairs = np.unique(np.stack([keys, items_of.astype(np.uint64)]), axis=1)
    unique, counts = np.unique(pairs[0], return_counts=True)
    return np.isin(keys, unique[counts >= COMMON_ITEMS])


def _allowed_hashes(texts: Iterable[str]) -> np.ndarray:
    found = [np.unique(ngrams.text_hashes(text.encode())) for text in texts]
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.uint64)


@dataclass(frozen=True)
class Hit:
    file: str
    offset: int
    excerpt: str


@dataclass
class FoundItem:
    id: str
    overlap: float
    """Best share of one field's n-grams seen in the scanned files."""
    field: str
    occurrences: int
    """How often the item's most frequent n-gram was seen (data repeated many times shows here)."""
    hit: Hit | None

    def to_dict(self) -> dict[str, Any]:
        hit = {"file": self.hit.file, "offset": self.hit.offset, "excerpt": self.hit.excerpt} if self.hit else {}
        return {"item": self.id, "overlap": round(self.overlap, 3), "field": self.field, "occurrences": self.occurrences, **hit}


@dataclass
class ScanReport:
    items: int
    items_indexed: int
    files_scanned: int
    bytes_scanned: int
    found: list[FoundItem]
    skipped: list[str] = field(default_factory=list)
    """Files that could not be read, with why."""

    @property
    def flagged(self) -> bool:
        return len(self.found) > TOLERATED_ITEMS

    def summary(self) -> str:
        share = f"{len(self.found)} of {self.items_indexed} indexed test items"
        rule = f"found = at least {FOUND_OVERLAP:.0%} of one field's {ngrams.N}-grams; more than {TOLERATED_ITEMS} found flags"
        files = f"{self.files_scanned} file{'' if self.files_scanned == 1 else 's'}"
        unread = f", {len(self.skipped)} unreadable" if self.skipped else ""
        return f"{share} found in {files} ({self.bytes_scanned / 1e6:.1f} MB scanned{unread}); {rule}"


class Scanner:
    """Accumulates hits over any number of files; ``report`` says which items were found."""

    def __init__(self, index: ItemIndex, progress: Callable[[str], None] | None = None, every_bytes: int = PROGRESS_BYTES):
        self.index = index
        self.progress = progress
        self.every_bytes = every_bytes
        self._next_report = every_bytes
        self.counts = np.zeros(index.keys.size, dtype=np.int64)
        self.first_hit: dict[int, Hit] = {}
        self.files = 0
        self.bytes = 0
        self.skipped: list[str] = []

    def scan_tree(self, root: Path, exclude: set[str] = frozenset(), label: str = "") -> None:
        """Every text-bearing file under ``root`` except the relative paths in ``exclude``."""
        for name, stream in text_streams(root, exclude, self.skipped):
            self.scan(f"{label}{name}", stream)

    def scan(self, name: str, stream: Iterator[bytes]) -> None:
        self.files += 1
        for offset, chunk in ngrams.chunks(stream):
            self.bytes += len(chunk)
            if self.progress is not None and self.bytes >= self._next_report:
                self.progress(f"scanned {self.bytes / 1e6:,.0f} MB of text in {self.files} file(s) so far (now {name})")
                self._next_report = (self.bytes // self.every_bytes + 1) * self.every_bytes
            found = self.index.lookup(ngrams.text_hashes(chunk))
            hit = found >= 0
            if not hit.any():
                continue
            np.add.at(self.counts, found[hit], 1)
            self._note_first_hits(name, offset, chunk, found)

    def _note_first_hits(self, name: str, offset: int, chunk: bytes, found: np.ndarray) -> None:
        new = [(position, int(key)) for position, key in zip(np.nonzero(found >= 0)[0], found[found >= 0], strict=True)
               if int(key) not in self.first_hit]
        if not new:
            return
        starts = ngrams.token_starts(chunk)
        for position, key in new:
            if key not in self.first_hit:
                start = starts[position]
                excerpt = chunk[start:start + EXCERPT_BYTES].decode("utf-8", errors="replace")
                self.first_hit[key] = Hit(name, offset + start, excerpt)

    def report(self) -> ScanReport:
        index = self.index
        seen = self.counts[index.unit_keys] > 0
        matched = np.bincount(index.unit_of[seen], minlength=index.unit_sizes.size)
        overlap = np.divide(matched, index.unit_sizes, out=np.zeros(index.unit_sizes.size), where=index.unit_sizes > 0)
        best: dict[int, int] = {}
        for unit in np.nonzero(overlap >= FOUND_OVERLAP)[0]:
            item = int(index.unit_item[unit])
            if item not in best or overlap[unit] > overlap[best[item]]:
                best[item] = int(unit)
        found = [self._found_item(item, unit, overlap[unit]) for item, unit in best.items()]
        found.sort(key=lambda f: (-f.overlap, f.id))
        indexed = len({int(index.unit_item[u]) for u in np.nonzero(index.unit_sizes)[0]})
        return ScanReport(len(index.item_ids), indexed, self.files, self.bytes, found, self.skipped)

    def _found_item(self, item: int, unit: int, overlap: float) -> FoundItem:
        keys = self.index.unit_keys[self.index.unit_of == unit]
        counts = self.counts[keys]
        # where it was seen: by an n-gram of this field alone if there is one (a shared one may point at another item)
        seen = keys[counts > 0]
        own = seen[self.index.owners[seen] == 1]
        hits = [self.first_hit[int(k)] for k in (own if own.size else seen) if int(k) in self.first_hit]
        first = min(hits, key=lambda h: (h.file, h.offset)) if hits else None
        return FoundItem(self.index.item_ids[item], float(overlap), self.index.unit_names[unit], int(counts.max()), first)


def scan(items: list[TestItem], roots: list[tuple[Path, str]], allowed: Iterable[str] = (),
         exclude: set[str] = frozenset(), progress: Callable[[str], None] | None = None) -> ScanReport:
    """Scan each ``(root, label)`` for the test items; ``exclude`` holds paths relative to the first root;
    ``progress`` hears how far a long scan has come."""
    scanner = Scanner(ItemIndex.build(items, allowed), progress)
    for number, (root, label) in enumerate(roots):
        scanner.scan_tree(root, exclude if number == 0 else frozenset(), label)
    return scanner.report()



@dataclass(frozen=True)
class Overlap:
    """A document that holds a test item: where it is, which item (by number) and how much of it."""

    file: str
    line: int | None
    """Line number for JSONL documents (one per line); None for a whole file."""
    item: str
    overlap: float


def check_documents(index: ItemIndex, root: Path, skipped: list[str]) -> tuple[list[Overlap], int]:
    """Each document under ``root`` (a file, or each line of a JSONL file) that holds at least
    ``FOUND_OVERLAP`` of one test item's field, named by its path as given; and how many documents were
    checked. Files that cannot be read are added to ``skipped``."""
    from posttrainbench.integrity.files import text_streams

    overlaps: list[Overlap] = []
    documents = 0
    for relative, stream in text_streams(root, frozenset(), skipped):
        name = str(root.parent / relative) if root.is_file() else str(root / relative)
        per_line = ".jsonl" in name
        for line, document in (_lines(stream) if per_line else [(None, b"".join(stream))]):
            documents += 1
            found = index.lookup(ngrams.text_hashes(document))
            for item, share in index.best_units(np.unique(found[found >= 0])):
                overlaps.append(Overlap(name, line, index.item_ids[item], share))
    return overlaps, documents


def _lines(stream: Iterator[bytes]) -> Iterator[tuple[int, bytes]]:
    rest, number = b"", 0
    for block in stream:
        *complete, rest = (rest + block).split(b"\n")
        for line in complete:
            number += 1
            yield number, line
    if rest:
        yield number + 1, rest
