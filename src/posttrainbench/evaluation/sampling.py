"""Sampling settings for the final evaluation, read from the model's ``generation_config.json``.

The original leaves sampling to vLLM, which takes temperature, top-p and top-k from the model's
``generation_config.json`` and otherwise samples at temperature 1. The agent therefore chooses the
sampling of its own evaluation; this is kept (it is part of what the agent ships) but made explicit: the
values are resolved here, passed to every backend in the same way, and recorded in the metrics.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# vLLM's defaults when the file does not say.
DEFAULTS = {"temperature": 1.0, "top_p": 1.0, "top_k": None}


def sampling_settings(model_path: Path) -> dict[str, Any]:
    path = model_path / "generation_config.json"
    settings: dict[str, Any] = dict(DEFAULTS)
    source = "defaults"
    if path.is_file():
        try:
            config = json.loads(path.read_text())
        except json.JSONDecodeError:
            config = {}
        for key in DEFAULTS:
            if config.get(key) is not None:
                settings[key] = config[key]
                source = "generation_config.json"
    if settings["top_k"] is not None and settings["top_k"] <= 0:
        settings["top_k"] = None  # 0 or -1 mean "off"
    settings["source"] = source
    return settings
