"""Stage prepare: build the agent's workspace and record what the harness put there."""

from __future__ import annotations

import json
import os
import sys
from importlib import resources
from pathlib import Path

from posttrainbench import prompt as prompt_mod
from posttrainbench.agents import agent_prompt_note
from posttrainbench.catalog import FAMILIES
from posttrainbench.evaluation.benchmarks import get_benchmark
from posttrainbench.config import TrialConfig
from posttrainbench.evaluation.chat_templates import default_source
from posttrainbench.errors import PtbError
from posttrainbench.fileio import sha256_file, write_json_atomic, write_text_atomic
from posttrainbench.results.schema import PrepareRecord
from posttrainbench.trial.context import Context
from posttrainbench.trial.paths import RunPaths

# Files the harness owns inside the workspace; the audit compares them with the manifest.
PROMPT_FILE = "prompt.txt"
TASK_FILE = "task.json"
STATE_DIR = ".ptb"
DEADLINE_FILE = f"{STATE_DIR}/deadline"
DATA_CHECK = "check_contamination.py"
TEST_NGRAMS = f"{STATE_DIR}/test_ngrams.npz"


def _packaged(name: str) -> str:
    return resources.files("posttrainbench.workspace_files").joinpath(name).read_text()


def render_prompt(config: TrialConfig, data_check: bool = False) -> str:
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
        data_check=data_check,
    )


def _evaluate_launcher(config: TrialConfig, python: str) -> str:
    benchmark = get_benchmark(config.benchmark)
    limit = benchmark.dev_limit
    return _packaged("evaluate.py.tmpl").format(
        benchmark_name=benchmark.name,
        dev_limit_text=f"the first {limit} test examples" if limit else "the whole test set",
        python=python,
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


def _own_template(config: TrialConfig) -> str:
    """The file name of the chat template the final evaluation applies to this trial's model."""
    from posttrainbench.evaluation.chat_templates import chat_template

    return chat_template(config.model.family, config.evaluation.chat_template, tools=get_benchmark(config.benchmark).uses_tools).filename


def write_data_check(config: TrialConfig, workspace: Path, python: str = sys.executable) -> str | None:
    """The agent's decontamination check: the test items as hashed n-grams (``TEST_NGRAMS``) and the
    ``check_contamination.py`` launcher. Returns why it could not be made (the test data is not at hand), or None."""
    from posttrainbench.integrity import test_items
    from posttrainbench.integrity.contamination import ItemIndex

    data = config.evaluation.data
    try:
        items, allowed = test_items(config.benchmark, Path(data) if data else None)
    except PtbError as error:
        return str(error)
    ItemIndex.build(items, allowed).save(workspace / TEST_NGRAMS)
    launcher = _packaged("check_contamination.py.tmpl").format(benchmark_name=get_benchmark(config.benchmark).name,
                                                                python=python)
    write_text_atomic(workspace / DATA_CHECK, launcher)
    os.chmod(workspace / DATA_CHECK, 0o755)
    return None


def build_workspace(config: TrialConfig, paths: RunPaths, python: str = sys.executable) -> tuple[dict[str, str], str | None]:
    """Write the workspace; return the manifest (relative path -> sha256 of each placed file) and why the
    data check is missing (None when it is there). ``python`` is the interpreter the workspace's launchers run
    ptb with (another one inside a container image)."""
    ws = paths.workspace
    ws.mkdir(parents=True, exist_ok=True)
    (ws / STATE_DIR).mkdir(exist_ok=True)
    benchmark = get_benchmark(config.benchmark)
    no_data_check = write_data_check(config, ws, python)
    prompt_text = render_prompt(config, data_check=no_data_check is None)
    files: dict[str, str] = {
        "evaluate.py": _evaluate_launcher(config, python),
        "timer.sh": _packaged("timer.sh"),
        PROMPT_FILE: prompt_text,
        TASK_FILE: json.dumps(
            {
                "benchmark": benchmark.id,
                "benchmark_name": benchmark.name,
                "base_model": config.model.id,
                "hours": config.hours,
                "family": config.model.family,
                "chat_template": f"templates/{_own_template(config)}",
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
    placed = sorted([*files, *(() if no_data_check else (DATA_CHECK, TEST_NGRAMS))])
    manifest = {relative: sha256_file(ws / relative) for relative in placed}
    write_json_atomic(paths.manifest, manifest)
    return manifest, no_data_check


def write_deadline(paths: RunPaths, deadline_epoch: float) -> None:
    """Fix the agent's deadline (read by timer.sh) when the agent starts."""
    write_text_atomic(paths.workspace / DEADLINE_FILE, f"{int(deadline_epoch)}\n")


def run(context: Context) -> PrepareRecord:
    """Stage prepare: the workspace and its manifest."""
    manifest, no_data_check = build_workspace(context.config, context.paths)
    return PrepareRecord(manifest_files=len(manifest), data_check_missing=no_data_check)
