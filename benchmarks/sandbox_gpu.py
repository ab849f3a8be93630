"""The GPU inside the bubblewrap sandbox: does CUDA work there, and at what cost?

Runs the same workload twice, directly and as a sandboxed agent (same launch as a trial: new root, /sys and
/proc/sys read-only, capabilities dropped, GPU device nodes passed through): CUDA start, a bf16 matmul
loop (8192 x 8192, 50 iterations) and a 2-layer MLP training loop (50 steps, batch 4096), plus
`nvidia-smi -L`. Needs a GPU, bwrap and unshare on PATH.

    python benchmarks/sandbox_gpu.py

Prints a markdown table: wall time of each phase, TFLOP/s of the matmul, and whether nvidia-smi saw the GPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from posttrainbench.sandbox import LaunchSpec, get_sandbox

WORKLOAD = r"""
import json, subprocess, time
t0 = time.time()
import torch
x = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
torch.cuda.synchronize(); t1 = time.time()
for _ in range(50):
    y = x @ x
torch.cuda.synchronize(); t2 = time.time()
model = torch.nn.Sequential(torch.nn.Linear(4096, 4096), torch.nn.ReLU(), torch.nn.Linear(4096, 10)).cuda()
optimizer = torch.optim.AdamW(model.parameters())
data = torch.randn(4096, 4096, device="cuda")
for _ in range(50):
    loss = model(data).logsumexp(-1).mean()
    loss.backward(); optimizer.step(); optimizer.zero_grad()
torch.cuda.synchronize(); t3 = time.time()
smi = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
print(json.dumps({"device": torch.cuda.get_device_name(), "cuda_start_s": t1 - t0, "matmul_s": t2 - t1,
                  "tflops": 50 * 2 * 8192 ** 3 / (t2 - t1) / 1e12, "train_s": t3 - t2,
                  "nvidia_smi": smi.stdout.strip().splitlines()[:1] or [smi.stderr.strip()[-200:]]}))
"""


def direct() -> tuple[dict[str, object], float]:
    start = time.time()
    proc = subprocess.run([sys.executable, "-c", WORKLOAD], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.splitlines()[-1]), time.time() - start


def sandboxed() -> tuple[dict[str, object], float]:
    with tempfile.TemporaryDirectory(prefix="ptb-gpu-") as tmp:
        root = Path(tmp)
        (root / "ws").mkdir()
        spec = LaunchSpec([sys.executable, "-c", WORKLOAD], workspace=root / "ws", scratch=root / "scratch",
                          hf_home=root / "hf", search_path=os.environ["PATH"])
        sandbox = get_sandbox("bubblewrap")
        sandbox.prepare_scratch(spec)
        start = time.time()
        try:
            proc = subprocess.run(sandbox.wrap(spec), capture_output=True, text=True,
                                  env={"PATH": os.environ["PATH"], "HOME": "/tmp/home"})
        finally:
            sandbox.cleanup(spec)
        if proc.returncode != 0:
            raise SystemExit(f"sandboxed workload failed ({proc.returncode}): {proc.stderr[-3000:]}")
        return json.loads(proc.stdout.splitlines()[-1]), time.time() - start


def main() -> None:
    rows = [("direct", *direct()), ("bubblewrap", *sandboxed())]
    print("| launch | device | wall s | CUDA start s | matmul s | bf16 TFLOP/s | MLP train s | nvidia-smi -L |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name, result, wall in rows:
        print(f"| {name} | {result['device']} | {wall:.1f} | {result['cuda_start_s']:.2f} | {result['matmul_s']:.2f} | "
              f"{result['tflops']:.0f} | {result['train_s']:.2f} | {result['nvidia_smi'][0]} |")


if __name__ == "__main__":
    main()
