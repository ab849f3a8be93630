"""Stage preflight: the sandbox and the agent can start, and the GPU(s) the trial needs are visible, free and
usable; fail fast otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess

from posttrainbench.config import TrialConfig
from posttrainbench.errors import StageError
from posttrainbench.results.schema import Gpu, PreflightRecord
from posttrainbench.trial.context import Context


def _smi(*query: str) -> list[list[str]]:
    """nvidia-smi's answer about the GPUs this trial was handed (CUDA_VISIBLE_DEVICES, where an executor set
    it), not every GPU of the machine: a trial beside it on another GPU is not this one's business."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip()
    only = [f"--id={visible}"] if visible else []
    out = subprocess.run(["nvidia-smi", *query, *only, "--format=csv,noheader"], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise StageError("preflight", f"nvidia-smi failed: {(out.stderr or out.stdout).strip()[:200]}")
    return [[cell.strip() for cell in line.split(",")] for line in out.stdout.strip().splitlines() if line.strip()]


def check(config: TrialConfig) -> PreflightRecord:
    """Return what was found; raise ``StageError`` with the reason when the machine cannot run the trial."""
    if config.device == "cpu":
        return PreflightRecord(device="cpu", note="CPU-only mode (tests and demos): no GPU checks")
    if shutil.which("nvidia-smi") is None:
        raise StageError("preflight", "no nvidia-smi on PATH: no usable NVIDIA GPU (use --device cpu for a demo)")
    gpus = _smi("--query-gpu=index,name,memory.used,memory.total")
    if len(gpus) < config.num_gpus:
        raise StageError("preflight", f"trial needs {config.num_gpus} GPU(s), {len(gpus)} visible")
    busy = _smi("--query-compute-apps=pid,used_memory")
    if busy:
        raise StageError("preflight", f"GPU busy: {len(busy)} compute process(es) already running: {busy[:3]}")
    return PreflightRecord(device="cuda", gpus=[Gpu(index=g[0], name=g[1], memory_used=g[2], memory_total=g[3]) for g in gpus])


def run(context: Context) -> PreflightRecord:
    config = context.config
    problem = context.sandbox.problem()
    if problem:
        raise StageError("preflight", f"sandbox {config.sandbox}: {problem}")
    agent = context.agent
    problem = agent.problem()
    if problem:
        raise StageError("preflight", f"agent {config.agent}: {problem}")
    return check(config).model_copy(update={"agent_cli_version": agent.version(), "agent_version_note": agent.version_note()})
