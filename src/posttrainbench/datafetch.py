"""``ptb data fetch`` and ``ptb data verify``: the pinned evaluation data (and base models) in the local HF
cache, for clusters whose GPU nodes run offline.

Hub datasets go through ``datasets.load_dataset`` at their pinned revision (so both the Hub cache and the
datasets cache hold them); files at fixed URLs go to ``settings.data_dir()``, the original's chat templates
(``evaluation/chat_templates.py``) among them. ``manifest.json`` there
records, per source, the revision and the SHA-256 of every file; ``verify`` recomputes them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from posttrainbench import settings
from posttrainbench.catalog import all_models
from posttrainbench.errors import PtbError
from posttrainbench.evaluation.benchmarks import all_benchmarks, get_benchmark
from posttrainbench.evaluation.chat_templates import FETCH_FOLDER, UPSTREAM
from posttrainbench.evaluation.sources import HubSource, UrlSource, fetched_path, load_hub
from posttrainbench.fileio import iso_now, sha256_file, write_json_atomic

Progress = Callable[[str], None]


def manifest_path() -> Path:
    return settings.data_dir() / "manifest.json"


def _hub_snapshot(repo_id: str, repo_type: str, revision: str | None) -> tuple[str, dict[str, str]]:
    """The commit and file hashes of a cached Hub snapshot (downloading it if needed)."""
    from huggingface_hub import snapshot_download

    folder = Path(snapshot_download(repo_id=repo_id, repo_type=repo_type, revision=revision))
    files = {str(path.relative_to(folder)): sha256_file(path) for path in sorted(folder.rglob("*")) if path.is_file()}
    return folder.name, files


def _download(url: str, target: Path, expected: str | None) -> str:
    import httpx

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with httpx.stream("GET", url, follow_redirects=True, timeout=120) as response:
        response.raise_for_status()
        with open(partial, "wb") as handle:
            for chunk in response.iter_bytes(1 << 20):
                handle.write(chunk)
    digest = sha256_file(partial)
    if expected and digest != expected:
        partial.unlink()
        raise PtbError(f"{url}: SHA-256 {digest} does not match the pinned {expected}")
    partial.replace(target)
    return digest


def _fetch_source(benchmark_id: str, split: str, source: HubSource | UrlSource) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": "dataset", "benchmark": benchmark_id, "split": split, "source": source.describe()}
    if isinstance(source, UrlSource):
        target = fetched_path(benchmark_id, source)
        digest = _download(source.url, target, source.sha256)
        return {**entry, "revision": source.sha256 or digest, "root": str(target.parent),
                "files": {source.filename: digest}}
    load_hub(source)  # fills the datasets cache at the pinned revision
    commit, files = _hub_snapshot(source.path, "dataset", source.revision)
    return {**entry, "repo": source.path, "revision": commit, "root": "hub", "files": files}


def fetch(benchmarks: list[str] | None, models: bool, progress: Progress) -> dict[str, Any]:
    """Download the pinned sources; write and return the manifest. A failed source is reported, not fatal."""
    entries, failures = [], []
    for benchmark_id in benchmarks or [b.id for b in all_benchmarks()]:
        for split, source in get_benchmark(benchmark_id).sources.items():
            progress(f"{benchmark_id} {split}: {source.describe()}")
            try:
                entries.append(_fetch_source(benchmark_id, split, source))
            except Exception as error:  # keep going: one gated or unreachable source must not hide the rest
                failures.append({"benchmark": benchmark_id, "split": split, "error": f"{type(error).__name__}: {error}"[:400]})
    for template in UPSTREAM.values():
        progress(f"chat template {template.filename}: {template.url}")
        try:
            digest = _download(template.url, fetched_path(FETCH_FOLDER, template), template.sha256)
            entries.append({"kind": "chat template", "source": template.url, "revision": digest,
                            "root": str(fetched_path(FETCH_FOLDER, template).parent), "files": {template.filename: digest}})
        except Exception as error:
            failures.append({"chat_template": template.filename, "error": f"{type(error).__name__}: {error}"[:400]})
    for model in all_models() if models else []:
        progress(f"model {model.id}")
        try:
            commit, files = _hub_snapshot(model.id, "model", None)
            entries.append({"kind": "model", "repo": model.id, "revision": commit, "root": "hub", "files": files})
        except Exception as error:
            failures.append({"model": model.id, "error": f"{type(error).__name__}: {error}"[:400]})
    manifest = {"created_at": iso_now(), "hf_home": str(settings.hf_home()), "entries": entries, "failures": failures}
    write_json_atomic(manifest_path(), manifest)
    return manifest


def verify() -> list[str]:
    """Problems found (missing or changed files); empty when everything matches the manifest."""
    path = manifest_path()
    if not path.is_file():
        raise PtbError(f"no data manifest at {path}; run `ptb data fetch` first")
    manifest = json.loads(path.read_text())
    problems = [f"fetch failed: {failure}" for failure in manifest.get("failures", [])]
    for entry in manifest["entries"]:
        root = _entry_root(entry)
        for name, digest in entry["files"].items():
            file = root / name
            if not file.is_file():
                problems.append(f"missing: {file}")
            elif sha256_file(file) != digest:
                problems.append(f"changed: {file}")
    return problems


def _entry_root(entry: dict[str, Any]) -> Path:
    if entry["root"] != "hub":
        return Path(entry["root"])
    hub_cache = Path(os.environ.get("HF_HUB_CACHE") or settings.hf_home() / "hub")
    kind = "models" if entry["kind"] == "model" else "datasets"
    return hub_cache / f"{kind}--{entry['repo'].replace('/', '--')}" / "snapshots" / entry["revision"]
