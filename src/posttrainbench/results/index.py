"""The SQLite index over a results folder: one row per recorded trial, rebuilt from result.json on demand."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from posttrainbench.results.schema import Result

INDEX_FILE = "index.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    run_id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    agent TEXT NOT NULL,
    model TEXT NOT NULL,
    benchmark TEXT NOT NULL,
    seed INTEGER NOT NULL,
    hours REAL NOT NULL,
    status TEXT NOT NULL,
    accuracy REAL,
    stderr REAL,
    wall_seconds REAL,
    finished_at TEXT NOT NULL,
    run_dir TEXT NOT NULL,
    result_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trials_label ON trials(label);
"""


def connect(results_root: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(results_root / INDEX_FILE, timeout=30)
    conn.executescript(_SCHEMA)
    return conn


def upsert(results_root: Path, result: Result, run_dir: Path) -> None:
    stderr = (result.metrics or {}).get("stderr")
    wall = (result.solve or {}).get("wall_seconds")
    with closing(connect(results_root)) as conn, conn:
        conn.execute(
            "INSERT OR REPLACE INTO trials VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                result.run_id, result.label, result.agent, result.model, result.benchmark, result.seed,
                result.hours, result.status, result.accuracy, stderr, wall, result.finished_at,
                str(run_dir.resolve()), result.model_dump_json(),
            ),
        )


def load_results(results_root: Path) -> list[Result]:
    """Every indexed result, oldest first."""
    if not (results_root / INDEX_FILE).exists():
        return []
    with closing(connect(results_root)) as conn:
        rows = conn.execute("SELECT result_json FROM trials ORDER BY finished_at, run_id").fetchall()
    return [Result.model_validate_json(row[0]) for row in rows]


def rebuild(results_root: Path) -> int:
    """Re-index every ``*/result.json`` below ``results_root``; returns how many were indexed."""
    count = 0
    for path in sorted(results_root.glob("*/result.json")):
        upsert(results_root, Result.model_validate_json(path.read_text()), path.parent)
        count += 1
    return count
