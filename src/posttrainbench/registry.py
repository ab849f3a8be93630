"""One small registry for every extension point (benchmarks, agents, sandboxes).

Each extension registers itself when its module is imported: a benchmark module of
``evaluation/benchmarks/`` (found there by file), an agent or a sandbox module (imported by its
package's ``__init__``).
"""

from __future__ import annotations

from typing import Any, TypeVar

from posttrainbench.errors import UnknownNameError

T = TypeVar("T")

_REGISTRY: dict[str, dict[str, Any]] = {}


def register(kind: str, name: str, obj: T) -> T:
    """Add ``obj`` under ``kind``/``name``; a second registration of one name is a bug."""
    table = _REGISTRY.setdefault(kind, {})
    if name in table and table[name] is not obj:
        raise ValueError(f"{kind} {name!r} registered twice")
    table[name] = obj
    return obj


def lookup(kind: str, name: str) -> Any:
    """Return the object registered as ``kind``/``name`` or raise a one-line error listing the known names."""
    table = _REGISTRY.get(kind, {})
    if name not in table:
        raise UnknownNameError(kind, name, list(table))
    return table[name]


def names(kind: str) -> list[str]:
    """All names registered under ``kind``, in registration order."""
    return list(_REGISTRY.get(kind, {}))
