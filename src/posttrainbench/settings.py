"""Every ``PTB_*`` environment variable is read here, once. Flags win over these, these over defaults."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from posttrainbench.errors import PtbError


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def results_dir() -> Path:
    """Where run directories and the results index live (``PTB_RESULTS``, default ``./results``)."""
    return Path(_env("PTB_RESULTS") or "results").expanduser()


def hf_home() -> Path:
    """The shared Hugging Face cache the agent sees copy-on-write (``HF_HOME`` as HF tools read it)."""
    return Path(_env("HF_HOME") or Path.home() / ".cache" / "huggingface").expanduser()


def data_dir() -> Path:
    """Benchmark files fetched from fixed URLs and the data manifest (``PTB_DATA``, default ``$HF_HOME/posttrainbench``)."""
    return Path(_env("PTB_DATA") or hf_home() / "posttrainbench").expanduser()


def chat_template_source() -> str | None:
    """Default chat template source of evaluations (``PTB_CHAT_TEMPLATE``: ``upstream`` or ``project``)."""
    return _env("PTB_CHAT_TEMPLATE")


def scratch_dir() -> Path:
    """Node-local scratch for sandbox layers and the agent's /tmp (``PTB_SCRATCH``, default the system tmp)."""
    return Path(_env("PTB_SCRATCH") or tempfile.gettempdir()).expanduser()


def secrets_dir() -> Path | None:
    """Directory holding agent credentials (``PTB_SECRETS_DIR``); always hidden from the agent."""
    value = _env("PTB_SECRETS_DIR")
    return Path(value).expanduser() if value else None


def debug() -> bool:
    """``PTB_DEBUG=1`` shows tracebacks for user-facing errors too."""
    return (_env("PTB_DEBUG") or "").lower() in ("1", "true", "yes")


def monitor_interval() -> float:
    """Seconds between system monitor samples during solve (``PTB_MONITOR_INTERVAL``, default 60)."""
    value = _env("PTB_MONITOR_INTERVAL") or "60"
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise PtbError(f"PTB_MONITOR_INTERVAL must be a positive number of seconds, got {value!r}")
    return seconds


def prices_file() -> Path | None:
    """A TOML price table of the user's, merged over the shipped one (``PTB_PRICES``); see ``agents/prices.py``."""
    value = _env("PTB_PRICES")
    return Path(value).expanduser() if value else None
