"""Atomic writes and UTC timestamps: every file another process may read is written this way."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from posttrainbench.errors import CorruptFileError, one_line

if TYPE_CHECKING:
    from pydantic import BaseModel

ModelT = TypeVar("ModelT", bound="BaseModel")


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_now() -> str:
    return utc_now().isoformat(timespec="seconds").replace("+00:00", "Z")


def write_text_atomic(path: Path, text: str) -> None:
    """Write to ``path.tmp`` then rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: Path) -> Any:
    """A JSON file ptb wrote; one that does not parse is a ``CorruptFileError`` (one line, not a traceback)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError as error:
        raise CorruptFileError(path, f"not valid JSON ({error})") from None


def read_model(path: Path, model: type[ModelT]) -> ModelT:
    """A pydantic model saved as JSON; a file that does not parse or validate is a ``CorruptFileError``."""
    return parse_model(read_json(path), model, path)


def parse_model(data: Any, model: type[ModelT], source: object) -> ModelT:
    """``data`` validated as ``model``; invalid data is a ``CorruptFileError`` naming ``source``."""
    try:
        return model.model_validate_json(data) if isinstance(data, str | bytes) else model.model_validate(data)
    except ValueError as error:  # pydantic's ValidationError, or JSON that does not parse
        raise CorruptFileError(source, f"not a valid {model.__name__} ({one_line(error)})") from None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tail_lines(path: Path, lines: int = 20) -> list[str]:
    """The last ``lines`` lines of a text file ([] when it cannot be read)."""
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []
