"""Resolve ``--model`` into a ``ModelSpec``: a catalog id found in the HF cache, or a local directory."""

from __future__ import annotations

from pathlib import Path

from posttrainbench import settings
from posttrainbench.catalog import FAMILIES, all_models, get_family, get_model
from posttrainbench.config import ModelSpec
from posttrainbench.errors import ModelNotFoundError, PtbError


def resolve_model(model: str, family: str | None = None) -> ModelSpec:
    catalog_ids = {entry.id for entry in all_models()}
    if model in catalog_ids:
        entry = get_model(model)
        return ModelSpec(id=entry.id, path=str(cached_snapshot(entry.id)), family=entry.family, instruct=entry.instruct)
    path = Path(model).expanduser()
    if not path.exists():
        raise ModelNotFoundError(
            f"model {model!r} is neither a catalog id ({', '.join(sorted(catalog_ids))}) nor an existing directory"
        )
    if not (path / "config.json").is_file():
        raise ModelNotFoundError(f"model directory {path} has no config.json")
    if family is None:
        raise PtbError(f"a local model directory needs --family ({'|'.join(FAMILIES)})")
    get_family(family)
    return ModelSpec(id=path.resolve().name, path=str(path.resolve()), family=family)


def cached_snapshot(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    cache = settings.hf_home() / "hub"
    try:
        return Path(snapshot_download(repo_id, cache_dir=cache, local_files_only=True))
    except LocalEntryNotFoundError:
        raise ModelNotFoundError(
            f"{repo_id} is not in the HF cache at {cache}; download it first (e.g. `hf download {repo_id}`)"
        ) from None
