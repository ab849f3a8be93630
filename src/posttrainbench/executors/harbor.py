"""``ptb export harbor``: one Harbor task per (base model, benchmark), for running agents in Harbor's cloud
sandboxes (Modal, Daytona, ...) while ptb still grades them.

Each task folder holds:

- ``task.toml``: the GPUs (count and type), CPUs, memory, storage, the agent's timeout (the budget) and the
  verifier's (the evaluation allowance), internet allowed, a healthcheck that starts the clock when the agent
  starts, the workspace as an artifact for the audit, and a *separate* verifier environment with the same
  resources;
- ``instruction.md``: the prompt a ptb trial gives, filled in the same way;
- ``environment/``: the agent's image (``containers/agent.Dockerfile``, with ptb's source) and the workspace
  a ptb trial starts from (evaluate.py, timer.sh, the chat templates, the decontamination check where the
  test data is at hand);
- ``tests/``: the verifier's image (``containers/eval.Dockerfile``), ``test.sh`` and ``grade.py``, which run
  ptb's own evaluation and audit on the submitted model, read-only from the artifacts Harbor hands over, and
  write the reward. The agent's workspace copy of the evaluation is never used.

Harbor needs Python 3.12; the tests load its task model from its wheel to validate the ``task.toml``s.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import posttrainbench
from posttrainbench.config import ModelSpec, TrialConfig
from posttrainbench.errors import PtbError

AGENT_HOME = "/home/agent"
WORKSPACE = f"{AGENT_HOME}/workspace"
IMAGE_PYTHON = "/opt/ptb/bin/python"
ARTIFACTS = "/logs/artifacts"
NOT_CARRIED = ["final_model/**", "**/checkpoint-*/**", "**/*.safetensors", "**/*.bin", "**/*.pt", "**/*.pth", "**/.cache/**",
               "**/wandb/**", "**/__pycache__/**"]
"""Left out of the workspace artifact: weights and caches (the model goes over on its own)."""


def task_id(benchmark: str, model_id: str) -> str:
    return f"posttrainbench-{benchmark}-{re.sub(r'[^a-z0-9.-]+', '-', model_id.rsplit('/', 1)[-1].lower())}"


def source_tree() -> Path:
    """This checkout of ptb (the images install it from source); an installed wheel has none."""
    root = Path(posttrainbench.__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "containers").is_dir():
        raise PtbError("ptb export harbor needs ptb's source checkout (pip install -e .): the task images install ptb from it")
    return root


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string is a JSON string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def to_toml(sections: list[tuple[str, dict[str, Any]]]) -> str:
    """Top-level keys (section ""), then ``[section]``s and ``[[arrays]]`` (written ``[[name]]``), in order."""
    lines: list[str] = []
    for header, values in sections:
        if header:
            lines += ["", header]
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def task_toml(config: TrialConfig, *, gpu_type: str, cpus: int, memory_mb: int, storage_mb: int, evaluation_hours: float) -> str:
    from posttrainbench.evaluation.benchmarks import get_benchmark

    benchmark = get_benchmark(config.benchmark)
    resources_ = {"cpus": cpus, "memory_mb": memory_mb, "storage_mb": storage_mb, "gpus": config.num_gpus, "gpu_types": [gpu_type]}
    deadline = f"{WORKSPACE}/.ptb/deadline"
    verifier_env = {"OPENAI_API_KEY": "${OPENAI_API_KEY}"} if benchmark.judged else {}
    return to_toml([
        ("", {"schema_version": "1.4"}),
        ("[task]", {"name": f"posttrainbench/{task_id(config.benchmark, config.model.id).removeprefix('posttrainbench-')}",
                    "description": f"Post-train {config.model.id} for {benchmark.name} in {config.hours:g} hours on {config.num_gpus} GPU(s)."}),
        ("[metadata]", {"benchmark": config.benchmark, "base_model": config.model.id, "family": config.model.family,
                        "hours": config.hours, "ptb_version": posttrainbench.__version__}),
        ("[agent]", {"timeout_sec": config.hours * 3600}),
        ("[environment]", {**resources_, "network_mode": "public", "build_timeout_sec": 3600.0, "workdir": WORKSPACE}),
        # the healthcheck runs once the environment is up and before the agent starts: the clock starts there
        ("[environment.healthcheck]", {"command": f"test -s {deadline} || echo $(( $(date +%s) + {int(config.hours * 3600)} )) > {deadline}"}),
        ("[verifier]", {"timeout_sec": evaluation_hours * 3600, "environment_mode": "separate", "env": verifier_env}),
        ("[verifier.environment]", {**resources_, "network_mode": "public", "build_timeout_sec": 3600.0}),
        ("[[artifacts]]", {"source": f"{WORKSPACE}/final_model", "destination": "final_model"}),
        ("[[artifacts]]", {"source": WORKSPACE, "destination": "workspace", "exclude": NOT_CARRIED}),
    ])


def _copy_source(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(source / name, target / name)
    shutil.copytree(source / "src", target / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"), dirs_exist_ok=True)


def _image(source: Path, dockerfile: str) -> str:
    """One of ``containers/``'s Dockerfiles, reading ptb's source from ``ptb/`` in the task's build context
    (the repository root is the context of the original)."""
    text = (source / "containers" / dockerfile).read_text()
    return text.replace("COPY pyproject.toml README.md /opt/ptb/src/", "COPY ptb/pyproject.toml ptb/README.md /opt/ptb/src/") \
               .replace("COPY src /opt/ptb/src/src", "COPY ptb/src /opt/ptb/src/src")


def write_task(folder: Path, config: TrialConfig, source: Path, **limits: Any) -> None:
    from posttrainbench.trial.paths import RunPaths
    from posttrainbench.trial.stages.prepare import build_workspace, render_prompt

    environment, tests = folder / "environment", folder / "tests"
    with tempfile.TemporaryDirectory(prefix="ptb-harbor-") as tmp:
        paths = RunPaths(Path(tmp))
        _, no_data_check = build_workspace(config, paths, python=IMAGE_PYTHON)
        shutil.copytree(paths.workspace, environment / "workspace", dirs_exist_ok=True)
    (folder / "instruction.md").write_text(render_prompt(config, data_check=no_data_check is None))
    (folder / "task.toml").write_text(task_toml(config, **limits))
    _copy_source(source, environment / "ptb")
    (environment / "Dockerfile").write_text(_image(source, "agent.Dockerfile") + f"COPY workspace/ {WORKSPACE}/\n")
    _copy_source(source, tests / "ptb")
    eval_image = _image(source, "eval.Dockerfile")
    # the verifier evaluates on the pinned data and the original's chat templates, fetched when its image is built
    (tests / "Dockerfile").write_text(eval_image + f"RUN ptb data fetch --benchmark {config.benchmark}\nCOPY test.sh grade.py metadata.json /tests/\n")
    (tests / "metadata.json").write_text(json.dumps({"benchmark": config.benchmark, "base_model": config.model.id,
                                                     "family": config.model.family, "hours": config.hours}, indent=2) + "\n")
    grader = resources.files("posttrainbench.workspace_files")
    (tests / "test.sh").write_text(grader.joinpath("harbor_test.sh").read_text())
    (tests / "test.sh").chmod(0o755)
    (tests / "grade.py").write_text(grader.joinpath("harbor_grade.py").read_text())


def export(out: Path, models: list[str], benchmarks: list[str], hours: float = 10.0, gpus: int = 1, gpu_type: str = "H100",
           cpus: int = 16, memory_mb: int = 131072, storage_mb: int = 409600, evaluation_hours: float = 3.0,
           say: Callable[[str], None] = print) -> list[Path]:
    """Write one task folder per (model, benchmark) under ``out``; returns them."""
    from posttrainbench.catalog import get_model
    from posttrainbench.evaluation.benchmarks import get_benchmark

    if not (0 < hours < 1000 and 0 < evaluation_hours < 1000):  # also refuses nan and inf
        raise PtbError("--hours and --evaluation-hours must be positive and under 1000")
    if not gpu_type.strip():
        raise PtbError("--gpu-type must name a GPU (e.g. H100)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PtbError(f"cannot create {out}: {error.strerror}") from None
    source = source_tree()
    entries = [get_model(model) for model in models]
    for benchmark in benchmarks:
        get_benchmark(benchmark)
    written = []
    for entry in entries:
        for benchmark in benchmarks:
            spec = ModelSpec(id=entry.id, path=f"{AGENT_HOME}/base_model", family=entry.family, instruct=entry.instruct)
            config = TrialConfig(run_id=task_id(benchmark, entry.id), agent="harbor", model=spec, benchmark=benchmark, hours=hours,
                                 num_gpus=gpus, device="cuda")
            folder = out / task_id(benchmark, entry.id)
            if folder.exists():
                shutil.rmtree(folder)
            write_task(folder, config, source, gpu_type=gpu_type, cpus=cpus, memory_mb=memory_mb, storage_mb=storage_mb,
                       evaluation_hours=evaluation_hours)
            say(f"wrote {folder}")
            written.append(folder)
    return written

