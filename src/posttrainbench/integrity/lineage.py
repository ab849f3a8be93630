"""Model lineage: is ``final_model`` the base model fine-tuned, or another model?

Tensors are compared one at a time, in slices of rows read straight from the safetensors files (never a
whole model in memory): for every weight matrix both models have (norms and biases are left out: every model
initialises them alike), ``|final - reference|`` and ``|reference|`` are summed over all parameters, and
the distance is the ratio of the two norms. Fine-tuning moves a model a few
percent at most; an unrelated model of the same architecture is about 1.4 away (two independent random
draws); the instruct counterpart sits between. The architecture (the config's core fields, the tensor
names and shapes) is compared first.

Verdicts: ``identical`` (distance 0), ``substituted`` (derived from the instruct model: closer to it than to
the base, and closer than ``SAME_LINEAGE``; needs the instruct weights), ``fine-tuned`` (closer to the base
than ``SAME_LINEAGE``), ``different`` (another architecture, or as far from both as an unrelated model).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

SAME_LINEAGE = 0.5
"""Distance to the base below which a model counts as derived from it."""
CORE_FIELDS = ("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
               "intermediate_size", "head_dim", "vocab_size")
SLICE_ELEMENTS = 16 << 20
"""Elements read at once (64 MiB in float32): bounds memory whatever the tensor."""
Kind = Literal["identical", "fine-tuned", "substituted", "different", "unreadable"]


@dataclass
class Lineage:
    kind: Kind
    distance_to_base: float | None = None
    distance_to_instruct: float | None = None
    architecture_differences: list[str] = field(default_factory=list)
    tensors_compared: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [self.kind]
        if self.distance_to_base is not None:
            parts.append(f"relative distance to base {self.distance_to_base:.4g}")
        if self.distance_to_instruct is not None:
            parts.append(f"to instruct {self.distance_to_instruct:.4g}")
        if self.architecture_differences:
            parts.append("architecture differs: " + "; ".join(self.architecture_differences[:5]))
        return ", ".join(parts) + (f" ({self.tensors_compared} tensors)" if self.tensors_compared else "")


def core_config(model: Path) -> dict[str, Any]:
    """The config fields that fix an architecture (a multimodal config's ``text_config`` counts as the model)."""
    config = json.loads((model / "config.json").read_text())
    text = config.get("text_config") or {}
    merged = {**config, **text}
    if str(merged.get("model_type", "")).endswith("_text"):
        merged["model_type"] = merged["model_type"].removesuffix("_text")
    return {name: merged.get(name) for name in CORE_FIELDS}


def _shards(model: Path) -> list[Path]:
    """The safetensors files transformers would load from ``model`` (the index's files, else
    ``model.safetensors``); [] when it would load none (then it reads another format, or nothing)."""
    index = model / "model.safetensors.index.json"
    if index.is_file():
        return sorted({model / name for name in json.loads(index.read_text()).get("weight_map", {}).values()})
    single = model / "model.safetensors"
    return [single] if single.is_file() else []


def _other_weights(model: Path, loaded: list[Path]) -> list[str]:
    """Weight files in ``model`` that transformers would not load alongside ``loaded``."""
    from posttrainbench.integrity.files import WEIGHT_SUFFIXES

    return sorted(p.name for p in model.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES) and p not in loaded)


class TensorFile:
    """One safetensors file read with plain reads, row slice by row slice. (Memory-mapping it, as the
    safetensors library does, would keep every page read so far in the process's memory.)"""

    DTYPES = {"BF16": "bfloat16", "F16": "float16", "F32": "float32", "F64": "float64", "I64": "int64", "I32": "int32",
              "U8": "uint8", "I8": "int8", "BOOL": "bool"}

    def __init__(self, path: Path):
        self.path = path
        with open(path, "rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            if not 2 <= size <= min(path.stat().st_size - 8, 100 << 20):
                raise ValueError(f"{path.name} is not a safetensors file (header size {size})")
            header = json.loads(handle.read(size))
        if not isinstance(header, dict):
            raise ValueError(f"{path.name} is not a safetensors file (its header is not an object)")
        self.data_start = 8 + size
        self.tensors = {name: info for name, info in header.items() if name != "__metadata__"}

    def shape(self, name: str) -> list[int]:
        return list(self.tensors[name]["shape"])

    def rows(self, name: str, start: int, stop: int) -> Any:
        """Rows ``start:stop`` of a tensor (all of a 0-d one) as float32."""
        import torch

        info = self.tensors[name]
        dtype = getattr(torch, self.DTYPES[info["dtype"]])
        shape = info["shape"]
        row_bytes = math.prod(shape[1:]) * torch.tensor([], dtype=dtype).element_size() if shape else 0
        begin, end = info["data_offsets"]
        if shape:
            begin, end = begin + start * row_bytes, begin + stop * row_bytes
        with open(self.path, "rb") as handle:
            handle.seek(self.data_start + begin)
            raw = bytearray(handle.read(end - begin))
        values = torch.frombuffer(raw, dtype=dtype) if raw else torch.zeros(0, dtype=dtype)
        return values.reshape([stop - start, *shape[1:]] if shape else []).float()


def _tensor_index(model: Path) -> dict[str, tuple[TensorFile, str]]:
    """Tensor name (without wrapper prefixes) -> the file that holds it and its name there."""
    index = {}
    for shard in _shards(model):
        tensors = TensorFile(shard)
        for name in tensors.tensors:
            index[_canonical(name)] = (tensors, name)
    return index


def _canonical(name: str) -> str:
    """Tensor names without the wrappers a save may add (multimodal ``language_model.``, peft's ``base_model.model.``)."""
    for prefix in ("base_model.model.", "language_model.", "model.language_model."):
        if name.startswith(prefix):
            name = "model." + name.removeprefix(prefix).removeprefix("model.")
    return name


def distance(candidate: Path, reference: Path) -> tuple[float, int, list[str]]:
    """Relative L2 distance of ``candidate`` from ``reference`` over the weight matrices both hold, the number
    of tensors compared, and notes (missing tensors, shapes compared on their common part)."""
    ours, theirs = _tensor_index(candidate), _tensor_index(reference)
    notes = []
    missing = sorted(set(theirs) - set(ours))
    if missing:
        notes.append(f"{len(missing)} reference tensors missing from the candidate (e.g. {missing[0]})")
    difference = norm = 0.0
    compared = 0
    for name in sorted(set(ours) & set(theirs)):
        if len(theirs[name][0].shape(theirs[name][1])) < 2:
            continue  # norms and biases: constant at initialisation in every model, they would hide a different one
        d, n, note = _tensor_distance(ours[name], theirs[name], name)
        difference, norm, compared = difference + d, norm + n, compared + 1
        if note:
            notes.append(note)
    return (math.sqrt(difference / norm) if norm else 0.0), compared, notes


def _tensor_distance(ours: tuple[TensorFile, str], theirs: tuple[TensorFile, str], name: str) -> tuple[float, float, str | None]:
    """Squared difference and squared reference norm of one weight matrix, read in slices of rows."""
    (a, a_name), (b, b_name) = ours, theirs
    shape_a, shape_b = a.shape(a_name), b.shape(b_name)
    if shape_a[1:] != shape_b[1:]:
        return 0.0, 0.0, f"{name}: shapes {shape_a} and {shape_b} not comparable"
    rows = min(shape_a[0], shape_b[0])
    note = f"{name}: {shape_a[0]} rows against {shape_b[0]}; the first {rows} compared" if shape_a[0] != shape_b[0] else None
    step = max(1, SLICE_ELEMENTS // max(1, math.prod(shape_a[1:])))
    difference = norm = 0.0
    for start in range(0, rows, step):
        stop = min(start + step, rows)
        x, y = a.rows(a_name, start, stop), b.rows(b_name, start, stop)
        difference += float(((x - y) ** 2).sum())
        norm += float((y ** 2).sum())
    return difference, norm, note


def lineage(final_model: Path, base: Path, instruct: Path | None = None) -> Lineage:
    shards = _shards(final_model)
    others = _other_weights(final_model, shards)
    if not shards:
        what = f"it holds {', '.join(others[:5])}" if others else "it holds no weights"
        return Lineage("unreadable", notes=[f"transformers would load no safetensors weights from final_model ({what}): not compared"])
    if not _shards(base):
        return Lineage("unreadable", notes=[f"no model.safetensors (or its index) in the base model at {base}"])
    notes = [f"final_model also holds weight files transformers does not load: {', '.join(others[:5])}"] if others else []
    if instruct is not None and not _shards(instruct):
        notes.append(f"no model.safetensors (or its index) in the instruct model at {instruct}: not compared")
        instruct = None
    ours, theirs = core_config(final_model), core_config(base)
    differences = [f"{key}: {ours[key]} (base {theirs[key]})" for key in CORE_FIELDS
                   if ours[key] != theirs[key] and key != "vocab_size"]
    if differences:
        return Lineage("different", architecture_differences=differences)
    to_base, compared, more = distance(final_model, base)
    notes += more
    to_instruct = None
    if instruct is not None:
        to_instruct, _, _ = distance(final_model, instruct)
    if compared == 0:
        return Lineage("different", notes=["no tensor in common with the base model", *notes])
    if to_base == 0.0:
        kind: Kind = "identical"
    elif to_instruct is not None and to_instruct < min(to_base, SAME_LINEAGE):
        kind = "substituted"
    elif to_base < SAME_LINEAGE:
        kind = "fine-tuned"
    else:
        kind = "different"
    return Lineage(kind, to_base, to_instruct, tensors_compared=compared, notes=notes)
