"""Stage collect: turn what the agent left into records. It takes ``final_model`` out of the workspace, prunes
weight files from what remains, and parses the agent's output log into common events (``agent/events.jsonl``)
and a transcript (``agent/transcript.txt``), for agents with a trace parser."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from posttrainbench import settings
from posttrainbench.agents import Agent
from posttrainbench.agents.trace import save_trace
from posttrainbench.integrity.files import WEIGHT_SUFFIXES
from posttrainbench.results.schema import CollectRecord, TraceSummary
from posttrainbench.trial.context import Context
from posttrainbench.trial.paths import RunPaths



def _tree_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def collect(paths: RunPaths, trusted: list[Path]) -> CollectRecord:
    """Move (same filesystem: instant) or copy ``workspace/final_model`` to the run directory.

    The agent's symbolic links are followed only into the workspace and ``trusted`` folders (the base
    model, the HF cache): the harness resolves them on the host, where a link to ``/root/.ssh`` would reach
    what the sandbox hid. Other links are dropped, and listed.
    """
    source = paths.submission
    target = paths.final_model
    allowed = [paths.workspace.resolve(), *(path.resolve() for path in trusted)]
    dropped: list[str] = []
    if not target.exists() and source.is_symlink():
        # A link may point at a file the agent does not own (the base model): copy what it points to,
        # unless it, or a link inside what it points to, leads out of the allowed folders.
        dropped = _describe([*_foreign_links(source, allowed), *_foreign_links(source.resolve(), allowed)])
        if not dropped:
            _replace_atomically(target, lambda staging: shutil.copytree(source.resolve(), staging, symlinks=False))
            source.unlink()
    elif not target.exists() and source.is_dir():
        def move_without_foreign_links(staging: Path) -> None:
            os.replace(source, staging)
            for link in _foreign_links(staging, [*allowed, staging.resolve()]):
                dropped.extend(_describe([link]))
                link.unlink()

        _replace_atomically(target, move_without_foreign_links)
    submitted = target.is_dir() and any(target.iterdir())
    pruned: list[str] = []
    pruned_bytes = 0
    for path in sorted(paths.workspace.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.suffix in WEIGHT_SUFFIXES:
            pruned_bytes += path.stat().st_size
            pruned.append(str(path.relative_to(paths.workspace)))
            path.unlink()
    return CollectRecord(
        submitted=submitted,
        final_model_bytes=_tree_bytes(target) if submitted else None,
        final_model_files=sorted(p.name for p in target.iterdir()) if submitted else [],
        pruned_weight_files=len(pruned),
        pruned_bytes=pruned_bytes,
        pruned_examples=pruned[:20],
        dropped_links=dropped[:20],
    )


def _replace_atomically(target: Path, fill: Callable[[Path], None]) -> None:
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    fill(staging)
    os.replace(staging, target)


def _foreign_links(root: Path, allowed: list[Path]) -> list[Path]:
    """Symbolic links at or below ``root`` whose target lies outside every ``allowed`` folder."""
    candidates = [root, *root.rglob("*")] if root.is_dir() and not root.is_symlink() else [root]
    return [path for path in candidates
            if path.is_symlink() and not any(path.resolve().is_relative_to(folder) for folder in allowed)]


def _describe(links: list[Path]) -> list[str]:
    return [f"{link.name} -> {os.readlink(link)}" for link in links]


def parse_trace(agent: Agent, paths: RunPaths) -> TraceSummary | None:
    """Write the agent's common event log and transcript next to its raw log; return the summary."""
    if not paths.output_log.exists():
        return None
    trace = agent.parse_trace(paths.output_log.read_text(errors="replace"))
    return None if trace is None else save_trace(trace, paths.events, paths.transcript)


def run(context: Context) -> CollectRecord:
    # the base model and the HF cache: folders the agent's links may point into
    record = collect(context.paths, trusted=[Path(context.config.model.path), settings.hf_home()])
    return record.model_copy(update={"trace": parse_trace(context.agent, context.paths)})
