"""The chat template a model is evaluated with: the original's file for its family, or this project's own.

The original evaluates every model of a family with one fixed template file (``src/eval/templates/`` of
its repository; Gemma on BFCL with a tool-calling variant), whatever template the agent saved. The prompt
the model sees, and so its score, depends on every character of that file. Its templates are therefore
never written out here: ``upstream`` (the default) reads the original's file at a pinned commit, fetched by
``ptb data fetch`` like the benchmarks' files, and checks its SHA-256 before use. ``project`` uses the
templates shipped in ``catalog/templates`` (this project's own wording: shorter personas, no date line,
tools in the project's words); scores taken with them are not comparable with the published leaderboard.
They serve where the original's files cannot be fetched (the quickstart, the tests, machines without
access to GitHub); the metrics record which template was used and its SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass

from posttrainbench import settings
from posttrainbench.catalog import get_family
from posttrainbench.errors import PtbError
from posttrainbench.evaluation.artifacts import Artifact
from posttrainbench.evaluation.sources import UrlSource, fetched_path

TEMPLATE_SOURCES = ("upstream", "project")
FETCH_FOLDER = "chat-templates"
"""Folder under the data directory (``settings.data_dir()``) where ``ptb data fetch`` puts the original's files."""

_ORIGINAL = "https://raw.githubusercontent.com/aisa-group/PostTrainBench/9082063a62e10e040f1acacdec2ccfc1467e0c00/src/eval/templates"


def _original(name: str, sha256: str) -> UrlSource:
    return UrlSource(f"{_ORIGINAL}/{name}", name, sha256)


UPSTREAM: dict[tuple[str, bool], UrlSource] = {
    # (family, the benchmark offers tools) -> the original's template file at commit 9082063
    ("qwen3", False): _original("qwen3.jinja", "ddd80c7700049450b953ae6acffa1731d696c5df5b1fbfb2de7e4ead17d708c6"),
    ("smollm3", False): _original("smollm.jinja", "b81bcca37cade6b21c04fec447f33e86bd07981b92d46718d078f56bf6026f82"),
    ("gemma3", False): _original("gemma3.jinja", "7de1c58e208eda46e9c7f86397df37ec49883aeece39fb961e0a6b24088dd3c4"),
    ("gemma3", True): _original("gemma3_tool_calling.jinja", "ce729a8a0045b4efb594616f0490707a13a5ced4d10ab5b471adb556c994a297"),
}
"""Families not listed with tools use their plain template with tools too, as the original does."""


@dataclass(frozen=True)
class ChatTemplate:
    text: str
    source: str
    """``upstream`` or ``project``."""
    origin: str
    """Where the text came from: the original's URL at its commit, or the packaged file."""
    filename: str
    """The file's own name (``qwen3.jinja``, ``smollm.jinja``, ...)."""

    def describe(self) -> dict[str, str]:
        """For the metrics' provenance (the SHA-256 is added there)."""
        return {"chat_template_source": self.source, "chat_template_origin": self.origin}


def default_source() -> str:
    """``PTB_CHAT_TEMPLATE`` where set (``project`` on machines that cannot fetch the original's files), else ``upstream``."""
    source = settings.chat_template_source() or "upstream"
    check_source(source)
    return source


def check_source(source: str) -> None:
    if source not in TEMPLATE_SOURCES:
        raise PtbError(f"unknown chat template source {source!r}; choose {' or '.join(TEMPLATE_SOURCES)}")


def upstream_file(family: str, tools: bool) -> UrlSource:
    """The original's template for ``family``: its tool-calling variant where it has one and tools are offered."""
    if (family, False) not in UPSTREAM:
        raise PtbError(f"the original has no chat template for family {family!r}; use --chat-template project")
    return UPSTREAM.get((family, tools), UPSTREAM[(family, False)])


def chat_template(family: str, source: str | None = None, tools: bool = False) -> ChatTemplate:
    """The template to evaluate a model of ``family`` with; ``tools``: the benchmark offers tools (BFCL)."""
    source = source or default_source()
    check_source(source)
    if source == "project":
        packaged = get_family(family)
        return ChatTemplate(packaged.chat_template(), "project", f"posttrainbench catalog/templates/{packaged.template}",
                            packaged.template)
    get_family(family)  # an unknown family fails with the list of known ones
    original = upstream_file(family, tools)
    fetched = fetched_path(FETCH_FOLDER, original)
    if not fetched.is_file():
        raise PtbError(f"the {family} chat template is the original's {original.filename}, not fetched yet: run "
                       f"`ptb data fetch` (it reads {original.url}), or evaluate with --chat-template project "
                       f"(not comparable with the published leaderboard)")
    artifact = Artifact(f"chat template {original.filename}", f"{fetched} (from {original.url})", str(original.sha256),
                        lambda: fetched.read_bytes().decode("utf-8"))
    return ChatTemplate(artifact.text(), "upstream", original.url, original.filename)
