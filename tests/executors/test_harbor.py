"""ptb export harbor: the task folders' structure and content, and every task.toml read by Harbor's own task
model (loaded from the harbor wheel on PyPI: Harbor itself needs Python 3.12, this machine has 3.11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from conftest import ptb
from posttrainbench.executors.harbor import IMAGE_PYTHON

HARBOR = "harbor==0.26.0"
TASK_MODEL = ["harbor/constants.py", "harbor/models/task/config.py", "harbor/models/task/step_name.py", "harbor/models/task/artifacts.py",
              "harbor/models/trial/paths.py", "harbor/utils/env.py"]


def harbor_task_config(folder: Path) -> Any:
    """Harbor's TaskConfig, from its wheel (only the task model's modules)."""
    wheels = folder / "wheel"
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--python-version", "3.12", "--only-binary=:all:",
                           "-d", str(wheels), HARBOR], capture_output=True, text=True, timeout=300)
    found = sorted(wheels.glob("harbor-*.whl"))
    if not found:
        if os.environ.get("CI"):
            raise RuntimeError(f"cannot download {HARBOR}: {proc.stderr[-500:]}")
        pytest.skip(f"cannot download {HARBOR} from the package index")
    package = folder / "pkg"
    with zipfile.ZipFile(found[0]) as wheel:
        for member in TASK_MODEL:
            (package / member).parent.mkdir(parents=True, exist_ok=True)
            (package / member).write_bytes(wheel.read(member))
    for init in ("harbor", "harbor/models", "harbor/models/task", "harbor/models/trial", "harbor/utils"):
        (package / init / "__init__.py").touch()
    sys.path.insert(0, str(package))
    try:
        from harbor.models.task.config import TaskConfig  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(package))
    return TaskConfig


def same(parsed: Any, written: Any, where: str) -> None:
    """Every value written is what Harbor read (Harbor ignores keys it does not know: a typo would vanish)."""
    if isinstance(written, dict):
        for key, value in written.items():
            inner = parsed.get(key) if isinstance(parsed, dict) else getattr(parsed, key, "<missing>")
            same(inner, value, f"{where}.{key}")
    elif isinstance(written, list) and written and isinstance(written[0], dict):
        assert len(parsed) == len(written), where
        for index, (inner, value) in enumerate(zip(parsed, written, strict=True)):
            same(inner, value, f"{where}[{index}]")
    else:
        value = parsed.value if hasattr(parsed, "value") else parsed
        assert value == written, f"{where}: Harbor read {value!r}, ptb wrote {written!r}"


def test_export_writes_tasks_harbor_accepts(tmp_path: Path) -> None:
    out = tmp_path / "harbor tasks"
    result = ptb("export", "harbor", "--out", str(out), "--model", "Qwen/Qwen3-1.7B-Base", "--model", "google/gemma-3-4b-pt",
                 "--benchmark", "gsm8k", "--benchmark", "healthbench", "--hours", "2", "--gpu-type", "H100!")
    assert result.returncode == 0, result.stderr
    tasks = sorted(path.name for path in out.iterdir())
    assert tasks == ["posttrainbench-gsm8k-gemma-3-4b-pt", "posttrainbench-gsm8k-qwen3-1.7b-base",
                     "posttrainbench-healthbench-gemma-3-4b-pt", "posttrainbench-healthbench-qwen3-1.7b-base"]
    task_config = harbor_task_config(tmp_path / "harbor")
    for name in tasks:
        folder = out / name
        text = (folder / "task.toml").read_text()
        written = tomllib.loads(text)
        parsed = task_config.model_validate_toml(text)
        same(parsed, written, name)
        assert parsed.verifier.environment_mode.value == "separate" and parsed.verifier.environment.gpus == 1
        assert parsed.agent.timeout_sec == 2 * 3600 and parsed.environment.gpu_types == ["H100!"]
        assert [a.source for a in parsed.artifacts] == ["/home/agent/workspace/final_model", "/home/agent/workspace"]
        judged = name.startswith("posttrainbench-healthbench")
        assert parsed.verifier.env == ({"OPENAI_API_KEY": "${OPENAI_API_KEY}"} if judged else {})  # resolved on the host, never in the agent's image
        assert "OPENAI_API_KEY" not in (folder / "environment" / "Dockerfile").read_text() and not parsed.environment.env

        meta = json.loads((folder / "tests" / "metadata.json").read_text())
        assert meta["benchmark"] == written["metadata"]["benchmark"] and meta["hours"] == 2.0
        instruction = (folder / "instruction.md").read_text()
        assert meta["base_model"] in instruction and "2 hours" in instruction
        workspace = folder / "environment" / "workspace"
        assert f"PTB_PYTHON = {IMAGE_PYTHON!r}" in (workspace / "evaluate.py").read_text()
        assert (workspace / "timer.sh").stat().st_mode & 0o111 and (folder / "tests" / "test.sh").stat().st_mode & 0o111
        assert list((workspace / "templates").iterdir())
        assert "--model \"${PTB_MODEL_DIR:-/logs/artifacts/final_model}\"" in (folder / "tests" / "test.sh").read_text()
        for context in (folder / "environment", folder / "tests"):  # every COPY source is in its build context
            for line in (context / "Dockerfile").read_text().splitlines():
                if line.startswith("COPY "):
                    for source in line.split()[1:-1]:
                        assert (context / source).exists(), f"{context.name}/Dockerfile copies {source}, not in the context"


def test_the_grader_writes_reward_zero_without_a_model(tmp_path: Path) -> None:
    out = tmp_path / "tasks"
    assert ptb("export", "harbor", "--out", str(out), "--model", "Qwen/Qwen3-1.7B-Base", "--benchmark", "gsm8k").returncode == 0
    tests = out / "posttrainbench-gsm8k-qwen3-1.7b-base" / "tests"
    verifier = tmp_path / "verifier"
    run = subprocess.run([sys.executable, str(tests / "grade.py"), "--metadata", str(tests / "metadata.json"), "--model",
                          str(tmp_path / "no model"), "--workspace", str(tmp_path), "--out", str(verifier)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads((verifier / "reward.json").read_text()) == {"reward": 0.0, "accuracy": 0.0, "model_missing": 1.0, "flagged": 0.0}


def test_bad_export_input_is_one_line(tmp_path: Path) -> None:
    for args, message in ((["--model", "nope/model"], "nope/model"), (["--benchmark", "nope"], "nope"), (["--hours", "0"], "must be positive")):
        out = ptb("export", "harbor", "--out", str(tmp_path / "x"), *args)
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and message in out.stderr, out.stderr
