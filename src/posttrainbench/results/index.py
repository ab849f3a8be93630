"""The SQLite index over a results folder.

- ``trials``: one row per recorded trial, with the columns the leaderboard reads (so a report over thousands
  of trials parses no JSON) and the whole ``result.json`` for everything else. It is re-derived from its own
  ``result_json`` when its layout changes.
- ``baselines``: reference scores of untouched models (``ptb baseline``, ``ptb import upstream``): the base
  models' zero-shot scores that replace failed or flagged cells, and the instruct models' scores that the
  benchmark weights can be recomputed from.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from posttrainbench.errors import CorruptFileError
from posttrainbench.fileio import iso_now, parse_model
from posttrainbench.results.records import TrialRecord
from posttrainbench.results.schema import Result

INDEX_FILE = "index.sqlite"
LAYOUT_VERSION = 2
"""Bumped whenever the ``trials`` columns change; an older index is re-derived from its stored results."""

BASELINE_KINDS = ("base_zero_shot", "base_few_shot", "instruct")

_TRIAL_COLUMNS = [f.name for f in fields(TrialRecord)]
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS trials (
    {", ".join(name + (" TEXT PRIMARY KEY" if name == "run_id" else "") for name in _TRIAL_COLUMNS)},
    result_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trials_label ON trials(label);
CREATE TABLE IF NOT EXISTS baselines (
    model TEXT NOT NULL,
    benchmark TEXT NOT NULL,
    kind TEXT NOT NULL,
    score REAL NOT NULL,
    source TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (model, benchmark, kind)
);
"""


@dataclass(frozen=True)
class Baseline:
    model: str
    benchmark: str
    kind: str
    """``base_zero_shot``, ``base_few_shot`` or ``instruct``."""
    score: float
    source: str
    """Where the score comes from: a run directory, an imported results tree, a publication."""


def connect(results_root: Path) -> sqlite3.Connection:
    results_root.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(results_root / INDEX_FILE, timeout=30)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version != LAYOUT_VERSION:
        _migrate(conn)
    return conn


@contextmanager
def session(results_root: Path) -> Iterator[sqlite3.Connection]:
    """An open index, closed afterwards; an index SQLite cannot read is a ``CorruptFileError`` (one line)."""
    try:
        with closing(connect(results_root)) as conn:
            yield conn
    except sqlite3.DatabaseError as error:
        raise CorruptFileError(results_root / INDEX_FILE, error) from None


def _result(result_json: str, results_root: Path) -> Result:
    return parse_model(result_json, Result, results_root / INDEX_FILE)


def _migrate(conn: sqlite3.Connection) -> None:
    """Create the tables, or re-derive the trials table of an older layout from the results it stored."""
    old = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='trials'").fetchone()
    stored: list[tuple[str, str]] = []
    if old:
        stored = conn.execute("SELECT result_json, run_dir FROM trials").fetchall()
        conn.execute("DROP TABLE trials")
    conn.executescript(_SCHEMA)
    with conn:
        for result_json, run_dir in stored:
            _insert(conn, parse_model(result_json, Result, INDEX_FILE), run_dir)
        conn.execute(f"PRAGMA user_version = {LAYOUT_VERSION}")


def _insert(conn: sqlite3.Connection, result: Result, run_dir: str) -> None:
    record = TrialRecord.from_result(result, run_dir)
    row = [",".join(v) if isinstance(v, tuple) else v for v in astuple(record)]
    conn.execute(f"INSERT OR REPLACE INTO trials VALUES ({','.join('?' * (len(row) + 1))})", (*row, result.model_dump_json()))


def upsert(results_root: Path, result: Result, run_dir: Path) -> None:
    upsert_many(results_root, [(result, run_dir)])


def upsert_many(results_root: Path, entries: list[tuple[Result, Path]]) -> None:
    """Index many results in one transaction (imports, rebuilds)."""
    with session(results_root) as conn, conn:
        for result, run_dir in entries:
            _insert(conn, result, str(run_dir.resolve()))


def load_results(results_root: Path) -> list[Result]:
    """Every indexed result, oldest first."""
    if not (results_root / INDEX_FILE).exists():
        return []
    with session(results_root) as conn:
        rows = conn.execute("SELECT result_json FROM trials ORDER BY finished_at, run_id").fetchall()
    return [_result(row[0], results_root) for row in rows]


def results_by_run(results_root: Path) -> dict[str, tuple[Result, Path]]:
    """Every indexed result with its run directory, by run id."""
    if not (results_root / INDEX_FILE).exists():
        return {}
    with session(results_root) as conn:
        rows = conn.execute("SELECT run_id, result_json, run_dir FROM trials").fetchall()
    return {run_id: (_result(data, results_root), Path(run_dir)) for run_id, data, run_dir in rows}


def load_records(results_root: Path) -> list[TrialRecord]:
    """Every indexed trial as the leaderboard sees it, oldest first."""
    if not (results_root / INDEX_FILE).exists():
        return []
    with session(results_root) as conn:
        rows = conn.execute(f"SELECT {', '.join(_TRIAL_COLUMNS)} FROM trials ORDER BY finished_at, run_id").fetchall()
    markers = _TRIAL_COLUMNS.index("markers")
    unaudited = _TRIAL_COLUMNS.index("unaudited")
    records = []
    for row in rows:
        values = list(row)
        values[markers] = tuple(values[markers].split(",")) if values[markers] else ()
        values[unaudited] = bool(values[unaudited])
        records.append(TrialRecord(*values))
    return records


def upsert_baselines(results_root: Path, baselines: list[Baseline]) -> None:
    with session(results_root) as conn, conn:
        conn.executemany("INSERT OR REPLACE INTO baselines VALUES (?,?,?,?,?,?)",
                         [(b.model, b.benchmark, b.kind, b.score, b.source, iso_now()) for b in baselines])


def load_baselines(results_root: Path) -> list[Baseline]:
    if not (results_root / INDEX_FILE).exists():
        return []
    with session(results_root) as conn:
        rows = conn.execute("SELECT model, benchmark, kind, score, source FROM baselines ORDER BY kind, model, benchmark").fetchall()
    return [Baseline(*row) for row in rows]

