"""The agent's prompt: a template with ``{model}``, ``{benchmark}``, ``{num_hours}`` and ``{gpu_info}``."""

from __future__ import annotations

import string
from importlib import resources

from posttrainbench.errors import PtbError

PLACEHOLDERS = ("model", "benchmark", "num_hours", "gpu_info", "setup_other")

_INSPECT_NOTE = (
    "- Warnings printed by Inspect AI during evaluation are normal. If `evaluate.py` fails, the cause is most "
    "likely GPU memory: lower `--max-connections` or `--max-tokens`.\n"
)


def default_template() -> str:
    return resources.files("posttrainbench.prompt").joinpath("default.txt").read_text()


def gpu_info(device: str, num_gpus: int) -> str:
    if device == "cpu":
        return "This machine has no GPU; all work runs on the CPU."
    if num_gpus == 1:
        return "The machine has one NVIDIA GPU."
    return f"The machine has {num_gpus} NVIDIA GPUs."


def format_hours(hours: float) -> str:
    return str(int(hours)) if float(hours).is_integer() else f"{hours:g}"


_CHECK_NOTE = (
    "- `python check_contamination.py PATH` checks training data (a file or a folder; JSONL line by line) against the "
    "test set through hashed n-grams and lists the documents that hold a test item, so that you can remove them. "
    "It never shows the test set.\n"
)


def render(template: str, *, model: str, benchmark: str, hours: float, device: str, num_gpus: int,
           data_check: bool = False) -> str:
    """Fill the template; an unknown placeholder is a one-line error, not a KeyError. ``data_check``: the
    workspace has ``check_contamination.py``."""
    values = {
        "model": model,
        "benchmark": benchmark,
        "num_hours": format_hours(hours),
        "gpu_info": gpu_info(device, num_gpus),
        "setup_other": _INSPECT_NOTE + (_CHECK_NOTE if data_check else ""),
    }
    for _, field, _, _ in string.Formatter().parse(template):
        if field is not None and field not in values:
            raise PtbError(f"prompt template uses unknown placeholder {{{field}}}; known: {', '.join(PLACEHOLDERS)}")
    return template.format_map(values)
