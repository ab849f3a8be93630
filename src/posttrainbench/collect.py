"""Stage collect: take ``final_model`` out of the workspace and prune weight files from what remains."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from posttrainbench.paths import RunPaths

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".onnx", ".h5", ".msgpack")


def _tree_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def collect(paths: RunPaths, keep_weights: bool = False) -> dict[str, Any]:
    """Move (same filesystem: instant) or copy ``workspace/final_model`` to the run directory."""
    source = paths.workspace / "final_model"
    target = paths.final_model
    if not target.exists() and (source.is_dir() or source.is_symlink()):
        staging = target.with_name("final_model.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        if source.is_symlink():
            # A link may point at a file the agent does not own (the base model): copy what it points to.
            shutil.copytree(source.resolve(), staging, symlinks=False)
            source.unlink()
        else:
            os.replace(source, staging)
        os.replace(staging, target)
    submitted = target.is_dir() and any(target.iterdir())
    pruned: list[str] = []
    pruned_bytes = 0
    if not keep_weights:
        for path in sorted(paths.workspace.rglob("*")):
            if path.is_file() and not path.is_symlink() and path.suffix in WEIGHT_SUFFIXES:
                pruned_bytes += path.stat().st_size
                pruned.append(str(path.relative_to(paths.workspace)))
                path.unlink()
    return {
        "submitted": submitted,
        "final_model_bytes": _tree_bytes(target) if submitted else None,
        "final_model_files": sorted(p.name for p in target.iterdir()) if submitted else [],
        "pruned_weight_files": len(pruned),
        "pruned_bytes": pruned_bytes,
        "pruned_examples": pruned[:20],
    }
