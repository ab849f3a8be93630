"""Stage prepare: build the agent's workspace and record what the harness put there."""

from __future__ import annotations

import json
import os
import sys
from importlib import resources

from posttrainbench import prompt as prompt_mod
from posttrainbench.agents import agent_prompt_note
from posttrainbench.catalog import FAMILIES
from posttrainbench.evaluation.benchmarks import get_benchmark
from posttrainbench.config import TrialConfig
from posttrainbench.evaluation.chat_templates import default_source
from posttrainbench.fileio import sha256_file, write_json_atomic, write_text_atomic
from posttrainbench.results.schema import PrepareRecord
from posttrainbench.trial.context import Context
from posttrainbench.trial.paths import RunPaths

# Files the harness owns inside the workspace; the audit compares them with the manifest.
PROMPT_FILE = "prompt.txt"
TASK_FILE = "task.json"
STATE_DIR = ".ptb"
DEADLINE_FILE = f"{STATE_DIR}/deadline"


def _packaged(name: str) -> str:
    return resources.files("posttrainbench.workspace_files").joinpath(name).read_text()


def render_prompt(config: TrialConfig) -> str:
    """The agent's prompt: the trial's template filled in; the built-in one ends with the agent's own note."""
    benchmark = get_benchmark(config.benchmark)
    template = config.prompt_template
    if template is None:
        note = agent_prompt_note(config.agent)
        template = prompt_mod.default_template() + (f"\n{note}\n" if note else "")
    return prompt_mod.render(
        template,
        model=config.model.id,
        benchmark=benchmark.name,
        hours=config.hours,
        device=config.device,
        num_gpus=config.num_gpus,
    )


def _evaluate_launcher(config: TrialConfig) -> str:
    benchmark = get_benchmark(config.benchmark)
    limit = benchmark.dev_limit
    return _packaged("evaluate.py.tmpl").format(
        benchmark_name=benchmark.name,
        dev_limit_text=f"the first {limit} test examples" if limit else "the whole test set",
        python=sys.executable,
        benchmark=benchmark.id,
        family=config.model.family,
        dev_limit=limit,
        chat_template=config.evaluation.chat_template or default_source(),
    )


def final_templates(config: TrialConfig) -> dict[str, str]:
    """The chat templates of the final evaluation, one per family, as ``templates/<file>``: the agent sees what
    its model will be evaluated with. Fails here, before the agent starts, when they cannot be loaded."""
    from posttrainbench.evaluation.chat_templates import chat_template

    tools = get_benchmark(config.benchmark).uses_tools
    files = {}
    for family in FAMILIES.values():
        template = chat_template(family.id, config.evaluation.chat_template, tools=tools)
        files[f"templates/{template.filename}"] = template.text
    return files


def build_workspace(config: TrialConfig, paths: RunPaths) -> dict[str, str]:
    """Write the workspace and return the manifest: relative path -> sha256 of each placed file."""
    ws = paths.workspace
    ws.mkdir(parents=True, exist_ok=True)
    (ws / STATE_DIR).mkdir(exist_ok=True)
    benchmark = get_benchmark(config.benchmark)
    prompt_text = render_prompt(config)
    files: dict[str, str] = {
        "evaluate.py": _evaluate_launcher(config),
        "timer.sh": _packaged("timer.sh"),
        PROMPT_FILE: prompt_text,
        TASK_FILE: json.dumps(
            {
                "benchmark": benchmark.id,
                "benchmark_name": benchmark.name,
                "base_model": config.model.id,
                "hours": config.hours,
                "allowed_training_data": benchmark.training_note,
            },
            indent=2,
        )
        + "\n",
    }
    files.update(final_templates(config))
    for relative, text in files.items():
        write_text_atomic(ws / relative, text)
    for executable in ("evaluate.py", "timer.sh"):
        os.chmod(ws / executable, 0o755)
    write_text_atomic(paths.prompt, prompt_text)
    manifest = {relative: sha256_file(ws / relative) for relative in sorted(files)}
    write_json_atomic(paths.manifest, manifest)
    return manifest


def write_deadline(paths: RunPaths, deadline_epoch: float) -> None:
    """Fix the agent's deadline (read by timer.sh) when the agent starts."""
    write_text_atomic(paths.workspace / DEADLINE_FILE, f"{int(deadline_epoch)}\n")


def run(context: Context) -> PrepareRecord:
    """Stage prepare: the workspace and its manifest."""
    return PrepareRecord(manifest_files=len(build_workspace(context.config, context.paths)))
