"""posttrainbench: measure whether AI coding agents can post-train a base LLM on their own.

The scripting API lives in :mod:`posttrainbench.api` (``run``, ``resume``); it is re-exported here lazily so
that ``import posttrainbench`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "resume", "run"]


def __getattr__(name: str) -> Any:
    if name in ("run", "resume"):
        from posttrainbench import api

        return getattr(api, name)
    raise AttributeError(name)
