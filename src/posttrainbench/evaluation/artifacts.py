"""Texts that define a score (judge prompts, grader templates), loaded from their source and checked by SHA-256.

A score is comparable with the published leaderboard only if the judge reads the same words as the
original's judge did. These texts are therefore never written out in this project, not even reworded: each
is read from where the original took it, at a pinned revision, and its SHA-256 is checked before use. A
text that does not match (a dependency upgraded past the pinned range, a file changed upstream) stops the
evaluation with one line that says what differed, rather than scoring with other words.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from posttrainbench.errors import PtbError


@dataclass(frozen=True)
class Artifact:
    name: str
    source: str
    """Where the text comes from, at which revision."""
    sha256: str
    """SHA-256 of the text as used (UTF-8)."""
    read: Callable[[], str]

    def text(self) -> str:
        """The verified text; a ``PtbError`` when the source gives other text."""
        text = self.read()
        digest = sha256_text(text)
        if digest != self.sha256:
            raise PtbError(f"the {self.name} read from {self.source} has SHA-256 {digest[:12]}..., not the pinned "
                           f"{self.sha256[:12]}...; its wording changed, so scores would not be comparable")
        return text

    def describe(self) -> dict[str, str]:
        """For the metrics: which text produced the score."""
        return {"source": self.source, "sha256": self.sha256}


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _inspect_evals_healthbench_grader() -> str:
    try:
        from inspect_evals.healthbench.scorer import GRADER_TEMPLATE
    except ImportError as error:
        raise PtbError(f"the HealthBench grader template comes from inspect-evals, which does not load: {error}") from None
    return GRADER_TEMPLATE.strip()


HEALTHBENCH_GRADER = Artifact(
    name="HealthBench grader template",
    # The original grades with OpenAI's template from simple-evals. inspect-evals ships the same text
    # (checked: equal to GRADER_TEMPLATE of simple-evals' healthbench_eval.py at ee3b0318d8d1d9d72755a4120879be65f7c07e9e,
    # stripped, as simple-evals uses it).
    source="openai/simple-evals healthbench_eval.py GRADER_TEMPLATE @ ee3b0318, as shipped by inspect_evals.healthbench.scorer",
    sha256="2adffd51fd259554ebcd036ad1072d4aa2b7ce3aec2bbffe36271f911632ed3c",
    read=_inspect_evals_healthbench_grader,
)
"""Placeholders ``<<conversation>>`` and ``<<rubric_item>>``, filled by plain replacement as simple-evals does."""


def python_constant(path: Path, name: str, *keys: str) -> Any:
    """The value of a module-level constant of a Python file, read without running the file: ``name``,
    then ``keys`` down through its dictionaries. A value that names another constant of the file is
    followed (Arena-Hard's settings point at a shared prompt that way)."""
    module = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    constants = {target.id: node.value for node in module.body if isinstance(node, ast.Assign)
                 for target in node.targets if isinstance(target, ast.Name)}

    def resolve(node: ast.expr) -> ast.expr:
        return resolve(constants[node.id]) if isinstance(node, ast.Name) and node.id in constants else node

    if name not in constants:
        raise PtbError(f"{path} defines no {name}")
    node = resolve(constants[name])
    for key in keys:
        if not isinstance(node, ast.Dict):
            raise PtbError(f"{path}: {name}{''.join(f'[{k!r}]' for k in keys)} is not a dictionary entry")
        found = {ast.literal_eval(k): v for k, v in zip(node.keys, node.values, strict=True) if k is not None}
        if key not in found:
            raise PtbError(f"{path}: {name} has no entry {key!r}")
        node = resolve(found[key])
    return ast.literal_eval(node)


def yaml_value(path: Path, key: str) -> Any:
    import yaml

    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(document, dict) or key not in document:
        raise PtbError(f"{path} has no {key!r}")
    return document[key]
