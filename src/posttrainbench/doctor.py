"""``ptb doctor``: what is installed and usable here (sandbox, GPUs, agent CLIs, extras, HF cache)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import subprocess
from typing import Any

from posttrainbench import settings
from posttrainbench.catalog import all_models
from posttrainbench.sandbox import get_sandbox, sandbox_names


def _gpus() -> tuple[bool, str]:
    if shutil.which("nvidia-smi") is None:
        return False, "nvidia-smi not found (CPU-only: use --device cpu)"
    proc = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
    names = proc.stdout.strip().splitlines()
    return (proc.returncode == 0 and bool(names)), ", ".join(names) or proc.stderr.strip()[:120]


def _version(distribution: str) -> str:
    """The installed version of a distribution, without importing it (vLLM and torch take seconds)."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


def _code_jail() -> dict[str, Any]:
    """Start this interpreter in the HumanEval code jail, as scoring does."""
    from posttrainbench.errors import EvaluationError
    from posttrainbench.evaluation import code_jail

    try:
        code_jail.check_interpreter()
    except EvaluationError as error:
        return {"check": "code jail", "ok": False, "detail": str(error)}
    isolated = code_jail.mode() == "bubblewrap"
    detail = "works (bubblewrap)" if isolated else "works, without isolation: bubblewrap cannot start here"
    return {"check": "code jail", "ok": isolated, "detail": detail}


def _scaffolds() -> list[Any]:
    from posttrainbench.agents import agent_names
    from posttrainbench.agents.scaffold import ScaffoldAgent
    from posttrainbench.registry import lookup

    return [cls for cls in (lookup("agent", name) for name in agent_names()) if issubclass(cls, ScaffoldAgent)]


def checks() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in sandbox_names():
        sandbox = get_sandbox(name)
        problem = sandbox.problem()
        detail = "no isolation (debug only)" if not sandbox.isolates else (problem or "works")
        rows.append({"check": f"sandbox {name}", "ok": problem is None, "detail": detail})
    rows.append(_code_jail())
    ok, detail = _gpus()
    rows.append({"check": "GPUs", "ok": ok, "detail": detail})
    for extra, module in (("[hf] evaluator", "inspect_ai"), ("[hf] torch", "torch"), ("[hf] transformers", "transformers"),
                          ("[vllm] backend", "vllm")):
        found = importlib.util.find_spec(module) is not None
        detail = f"installed: {module} {_version(module)}" if found else f"missing: pip install 'posttrainbench{extra.split()[0]}'"
        rows.append({"check": extra, "ok": found, "detail": detail})
    for cls in _scaffolds():
        problem = cls.problem()
        note = None if problem else cls.version_note()  # runs `CLI --version` once
        detail = problem or note or f"{cls.binary}: no mismatch with the pinned {cls.pinned_version}"
        rows.append({"check": f"agent {cls.name}", "ok": problem is None and note is None, "detail": detail})
    hub = settings.hf_home() / "hub"
    cached = [m.id for m in all_models() if (hub / f"models--{m.id.replace('/', '--')}").is_dir()]
    rows.append({"check": "HF cache", "ok": hub.is_dir(), "detail": f"{hub}: {len(cached)}/4 base models cached"})
    return rows
