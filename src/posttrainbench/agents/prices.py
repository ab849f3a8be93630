"""Cost of a trial's tokens where the scaffold reports none: a price table per model, USD per million tokens.

The shipped table (``prices.toml`` next to this module) names its source per row; ``PTB_PRICES`` points to a
user's table in the same format, whose rows win. A model in neither table gets no cost (null), never a guess.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from posttrainbench import settings
from posttrainbench.results.schema import TokenUsage
from posttrainbench.errors import PtbError


@dataclass(frozen=True)
class Price:
    input: float
    cached_input: float
    output: float
    source: str = ""

    def cost(self, usage: TokenUsage) -> float | None:
        if usage.input_tokens is None or usage.output_tokens is None:
            return None
        cached = usage.cached_input_tokens or 0
        dollars = (usage.input_tokens - cached) * self.input + cached * self.cached_input + usage.output_tokens * self.output
        return round(dollars / 1e6, 6)


def price_table() -> dict[str, Price]:
    table = _read(resources.files("posttrainbench.agents").joinpath("prices.toml").read_text(), "the shipped price table")
    user = settings.prices_file()
    if user is not None:
        table.update(_user_table(user))
    return table


def price_for(model: str | None) -> Price | None:
    if not model:
        return None
    table = price_table()
    return table.get(model) or table.get(model.rsplit("/", 1)[-1])  # "openai/gpt-5.4" as OpenCode names it


@functools.cache
def _user_table(path: Path) -> dict[str, Price]:
    try:
        return _read(path.read_text(), str(path))
    except OSError as error:
        raise PtbError(f"PTB_PRICES: cannot read {path}: {error.strerror}") from None


def _read(text: str, where: str) -> dict[str, Price]:
    try:
        models = tomllib.loads(text).get("models", {})
        return {name: Price(float(row["input"]), float(row.get("cached_input", row["input"])), float(row["output"]), str(row.get("source", "")))
                for name, row in models.items()}
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise PtbError(f"{where}: not a price table ([models.\"<id>\"] with input, output and optional cached_input): {error}") from None
