"""Stage collect follows the agent's links only where the agent could see: the workspace and the base model."""

from __future__ import annotations

import os
from pathlib import Path

from posttrainbench.trial.stages.collect import collect
from posttrainbench.trial.paths import RunPaths


def run_with(tmp_path: Path) -> tuple[RunPaths, Path, Path]:
    """A run directory, a base model and a host secret the sandbox hid from the agent."""
    paths = RunPaths(tmp_path / "run")
    paths.workspace.mkdir(parents=True)
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text("{}")
    secret = tmp_path / "home" / ".ssh"
    secret.mkdir(parents=True)
    (secret / "id_ed25519").write_text("PRIVATE KEY")
    return paths, base, secret


def secret_copied(paths: RunPaths) -> bool:
    return any(path.is_file() and b"PRIVATE KEY" in path.read_bytes() for path in paths.root.rglob("*"))


def test_final_model_linked_to_a_hidden_host_folder_is_not_followed(tmp_path: Path) -> None:
    paths, base, secret = run_with(tmp_path)
    (paths.workspace / "final_model").symlink_to(secret)
    record = collect(paths, trusted=[base])
    assert not record.submitted and record.dropped_links == [f"final_model -> {secret}"]
    assert not secret_copied(paths)


def test_links_inside_final_model_that_leave_it_are_dropped(tmp_path: Path) -> None:
    paths, base, secret = run_with(tmp_path)
    model = paths.workspace / "final_model"
    model.mkdir()
    (model / "config.json").symlink_to(base / "config.json")  # the base model: kept
    (model / "tokenizer.json").symlink_to(secret / "id_ed25519")  # a hidden file: dropped
    os.symlink("../elsewhere", model / "data")
    record = collect(paths, trusted=[base])
    assert record.submitted and sorted(record.dropped_links) == ["data -> ../elsewhere", f"tokenizer.json -> {secret / 'id_ed25519'}"]
    assert sorted(p.name for p in paths.final_model.iterdir()) == ["config.json"]
    assert not secret_copied(paths)


def test_final_model_linked_to_the_base_model_is_copied(tmp_path: Path) -> None:
    paths, base, _ = run_with(tmp_path)
    (paths.workspace / "final_model").symlink_to(base)
    record = collect(paths, trusted=[base])
    assert record.submitted and record.dropped_links == []
    assert (paths.final_model / "config.json").is_file() and not (paths.final_model / "config.json").is_symlink()
