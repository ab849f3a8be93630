"""Model lineage on tiny random models: the base, a fine-tune of it (a few optimiser steps), an "instruct"
model (the base perturbed), the instruct model fine-tuned, and an unrelated model of the same architecture."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from posttrainbench.integrity.lineage import lineage
from posttrainbench.tiny import build_tiny_qwen3


def fine_tune(source: Path, target: Path, steps: int = 3) -> Path:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(source)
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch = torch.randint(0, model.config.vocab_size, (2, 16))
    for _ in range(steps):
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
    model.save_pretrained(target)
    return target


def perturbed(source: Path, target: Path, scale: float = 0.3) -> Path:
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(source)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * parameter.std() * scale)
    model.save_pretrained(target)
    return target


@pytest.fixture(scope="module")
def family(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("lineage")
    instruct = perturbed(tiny_model, root / "instruct")
    return {
        "base": tiny_model,
        "instruct": instruct,
        "fine_tune": fine_tune(tiny_model, root / "fine_tune"),
        "instruct_tuned": fine_tune(instruct, root / "instruct_tuned"),
        "other": build_tiny_qwen3(root / "other", seed=5),
    }


def test_a_copy_of_the_base_is_identical(family: dict[str, Path], tmp_path: Path) -> None:
    copy = shutil.copytree(family["base"], tmp_path / "copy")
    found = lineage(copy, family["base"], family["instruct"])
    assert found.kind == "identical" and found.distance_to_base == 0.0 and found.tensors_compared > 0


def test_a_fine_tune_of_the_base_is_fine_tuned(family: dict[str, Path]) -> None:
    found = lineage(family["fine_tune"], family["base"], family["instruct"])
    assert found.kind == "fine-tuned" and 0 < found.distance_to_base < found.distance_to_instruct  # type: ignore[operator]


def test_the_instruct_model_fine_tuned_is_substitution(family: dict[str, Path]) -> None:
    found = lineage(family["instruct_tuned"], family["base"], family["instruct"])
    assert found.kind == "substituted" and found.distance_to_instruct < found.distance_to_base  # type: ignore[operator]


def test_without_the_instruct_weights_only_the_distance_to_base_is_known(family: dict[str, Path]) -> None:
    found = lineage(family["instruct_tuned"], family["base"])
    fine_tune = lineage(family["fine_tune"], family["base"])
    assert found.distance_to_instruct is None and found.distance_to_base > 2 * fine_tune.distance_to_base  # type: ignore[operator]


def test_an_unrelated_model_of_the_same_architecture_is_different(family: dict[str, Path]) -> None:
    found = lineage(family["other"], family["base"], family["instruct"])
    assert found.kind == "different" and found.distance_to_base > 1.0  # type: ignore[operator]


def test_another_architecture_is_different_before_any_tensor_is_read(family: dict[str, Path], tmp_path: Path) -> None:
    wider = shutil.copytree(family["base"], tmp_path / "wider")
    config = json.loads((wider / "config.json").read_text())
    (wider / "config.json").write_text(json.dumps({**config, "hidden_size": 128}))
    found = lineage(wider, family["base"])
    assert found.kind == "different" and found.architecture_differences == ["hidden_size: 128 (base 64)"]


def test_a_model_without_safetensors_is_unreadable(family: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text("{}")
    assert lineage(tmp_path / "empty", family["base"]).kind == "unreadable"


def test_weights_transformers_would_load_from_another_format_are_not_called_clean(family: dict[str, Path], tmp_path: Path) -> None:
    """The base model's safetensors renamed as a decoy, other weights in pytorch_model.bin: transformers loads
    the .bin, so the check must not compare the decoy."""
    model = shutil.copytree(family["other"], tmp_path / "m")
    (model / "model.safetensors").rename(model / "decoy.safetensors")
    shutil.copyfile(family["base"] / "model.safetensors", model / "decoy.safetensors")
    (model / "pytorch_model.bin").write_bytes(b"PK\x03\x04 not compared")
    found = lineage(model, family["base"])
    assert found.kind == "unreadable" and "decoy.safetensors" in found.notes[0] and "pytorch_model.bin" in found.notes[0]


def test_a_broken_safetensors_file_is_an_error_not_a_crash(family: dict[str, Path], tmp_path: Path) -> None:
    from posttrainbench.integrity.lineage import TensorFile

    model = shutil.copytree(family["base"], tmp_path / "m")
    (model / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a safetensors file"):
        TensorFile(model / "model.safetensors")
