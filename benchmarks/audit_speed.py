"""Throughput and memory of the audit's two heavy checks, at the sizes they meet in real trials.

    python benchmarks/audit_speed.py --scan-gb 2 --lineage qwen3-4b --work /var/tmp/ptb-audit-bench

- **scan**: a workspace of ``--scan-gb`` GB of training-like text (JSONL, gzip-compressed JSONL, Parquet),
  scanned for 1,319 test items (GSM8K's size), a few of them planted; the scan runs in a fresh process, so
  its peak resident memory is its own. Target on a 2-core machine: at least 50 MB/s per core, under 1 GB.
- **lineage**: a random-initialised model of the real Qwen3-4B architecture in bf16 (about 8 GB of
  safetensors) and a "fine-tune" of it (the same weights plus small noise), compared in a fresh process.
  Target: under 60 s and under 2 GB.

Generated files stay in ``--work`` between runs (delete it to start over). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import time
from pathlib import Path

QWEN3_4B = {"vocab_size": 151936, "hidden_size": 2560, "intermediate_size": 9728, "num_hidden_layers": 36,
            "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128, "tie_word_embeddings": True,
            "max_position_embeddings": 32768, "rope_theta": 1000000, "rms_norm_eps": 1e-6}
"""Qwen/Qwen3-4B-Base's config.json (the architecture's fields)."""
SHARD_BYTES = 2 << 30


def sentence(rng: random.Random, words: list[str], n: int) -> str:
    return " ".join(rng.choices(words, k=n))


def make_workspace(root: Path, gigabytes: float) -> tuple[Path, Path]:
    """A workspace of about ``gigabytes`` GB and the test items' file; returns (workspace, items.jsonl)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    workspace, items = root / "workspace", root / "items.jsonl"
    if (root / "workspace.done").exists():
        return workspace, items
    rng = random.Random(0)
    words = [f"w{n}" for n in range(50_000)]
    tests = [{"question": sentence(rng, words, 60), "answer": sentence(rng, words, 40)} for _ in range(1319)]
    items.write_text("".join(json.dumps(t) + "\n" for t in tests))
    workspace.mkdir(parents=True, exist_ok=True)
    block = "".join(json.dumps({"text": sentence(rng, words, 180)}) + "\n" for _ in range(5000)).encode()
    share = int(gigabytes * 1e9 / 3)
    with open(workspace / "corpus.jsonl", "wb") as handle:
        for _ in range(max(1, share // len(block))):
            handle.write(block)
        handle.write("".join(json.dumps({"prompt": t["question"], "completion": t["answer"]}) + "\n" for t in tests[:10]).encode())
    with gzip.open(workspace / "corpus.jsonl.gz", "wb", compresslevel=1) as handle:
        for _ in range(max(1, share // len(block))):
            handle.write(block)
    rows = [{"text": sentence(rng, words, 180)} for _ in range(5000)]
    writer = pq.ParquetWriter(workspace / "corpus.parquet", pa.schema([("text", pa.string())]))
    table = pa.Table.from_pylist(rows)
    for _ in range(max(1, share // table.nbytes)):
        writer.write_table(table)
    writer.close()
    (root / "workspace.done").touch()
    return workspace, items


def make_models(root: Path) -> tuple[Path, Path]:
    """A random Qwen3-4B in bf16 and the same plus noise (relative 1e-3), written shard by shard."""
    import torch
    from safetensors.torch import save_file
    from transformers import Qwen3Config, Qwen3ForCausalLM

    base, tuned = root / "qwen3-4b-base", root / "qwen3-4b-tuned"
    if (root / "models.done").exists():
        return base, tuned
    config = Qwen3Config(**QWEN3_4B)
    with torch.device("meta"):
        shapes = {name: tuple(p.shape) for name, p in Qwen3ForCausalLM(config).named_parameters()}
    generator = torch.Generator().manual_seed(0)
    for folder in (base, tuned):
        folder.mkdir(parents=True, exist_ok=True)
        config.save_pretrained(folder)
    shard: dict[str, dict[str, torch.Tensor]] = {"base": {}, "tuned": {}}
    size, number = 0, 0
    for name, shape in shapes.items():
        weight = torch.randn(shape, generator=generator, dtype=torch.float32).mul_(0.02)
        shard["base"][name] = weight.to(torch.bfloat16)
        shard["tuned"][name] = (weight + torch.randn(shape, generator=generator) * 2e-5).to(torch.bfloat16)
        size += weight.numel() * 2
        if size >= SHARD_BYTES:
            number += 1
            save_file(shard["base"], base / f"model-{number:05d}.safetensors")
            save_file(shard["tuned"], tuned / f"model-{number:05d}.safetensors")
            shard, size = {"base": {}, "tuned": {}}, 0
    if shard["base"]:
        number += 1
        save_file(shard["base"], base / f"model-{number:05d}.safetensors")
        save_file(shard["tuned"], tuned / f"model-{number:05d}.safetensors")
    for folder in (base, tuned):
        write_index(folder)
    (root / "models.done").touch()
    return base, tuned


def write_index(folder: Path) -> None:
    """``model.safetensors.index.json``, as ``save_pretrained`` writes it: what transformers (and the check) load."""
    from posttrainbench.integrity.lineage import TensorFile

    weight_map = {name: shard.name for shard in sorted(folder.glob("model-*.safetensors")) for name in TensorFile(shard).tensors}
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))


PEAK = """
def peak_mb():
    # VmHWM is this process's own peak (ru_maxrss would also count the parent's memory at fork time)
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
"""
SCAN = PEAK + """
import json, sys, time
from pathlib import Path
from posttrainbench.integrity.contamination import items_from_records, scan
items = items_from_records([json.loads(line) for line in open(sys.argv[2])])
started = time.monotonic()
report = scan(items, [(Path(sys.argv[1]), "")])
seconds = time.monotonic() - started
print(json.dumps({"seconds": seconds, "bytes": report.bytes_scanned, "found": len(report.found), "files": report.files_scanned,
                  "peak_mb": peak_mb()}))
"""
LINEAGE = PEAK + """
import json, sys, time
from pathlib import Path
from posttrainbench.integrity.lineage import lineage
started = time.monotonic()
found = lineage(Path(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps({"seconds": time.monotonic() - started, "kind": found.kind, "distance": found.distance_to_base,
                  "tensors": found.tensors_compared, "peak_mb": peak_mb()}))
"""


def measure(script: str, *args: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scan-gb", type=float, default=2.0)
    parser.add_argument("--lineage", choices=["qwen3-4b", "none"], default="qwen3-4b")
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/ptb-audit-bench"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    started = time.monotonic()
    workspace, items = make_workspace(args.work, args.scan_gb)
    print(f"workspace ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
    scan = measure(SCAN, workspace, items)
    rows.append(["contamination scan", f"{scan['bytes'] / 1e9:.2f} GB of text in {scan['files']:.0f} files, 1,319 items",
                 f"{scan['seconds']:.1f} s", f"{scan['bytes'] / 1e6 / scan['seconds']:.1f} MB/s (1 core)",
                 f"{scan['peak_mb']:.0f} MB", f"{scan['found']:.0f} planted items found"])
    if args.lineage == "qwen3-4b":
        started = time.monotonic()
        base, tuned = make_models(args.work)
        print(f"models ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
        size = sum(p.stat().st_size for p in base.glob("*.safetensors"))
        result = measure(LINEAGE, tuned, base)
        rows.append(["model lineage", f"Qwen3-4B architecture, bf16, {size / 1e9:.1f} GB each, {result['tensors']:.0f} matrices",
                     f"{result['seconds']:.1f} s", f"{2 * size / 1e6 / result['seconds']:.0f} MB/s read",
                     f"{result['peak_mb']:.0f} MB", f"{result['kind']}, distance {result['distance']:.2e}"])
    print("| check | input | time | throughput | peak memory | outcome |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
