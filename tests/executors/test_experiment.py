"""Experiment files: the matrix they expand to, and one clear line (exit 2) for every kind of bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ptb
from posttrainbench.errors import PtbError
from posttrainbench.evaluation.benchmarks import all_benchmarks
from posttrainbench.executors.experiment import expand, load_experiment
from posttrainbench.trial import Trial


def write(folder: Path, body: str, tiny_model: Path) -> Path:
    path = folder / "exp.toml"
    path.write_text(f'''
name = "row"
hours = 2
models = [{{path = "{tiny_model}", family = "qwen3"}}]
device = "cpu"
{body}
''')
    return path


def test_the_matrix_and_its_run_ids(tiny_model: Path, tmp_path: Path) -> None:
    path = write(tmp_path, '''
benchmarks = ["gsm8k", "humaneval"]
seeds = [0, 1]
[[agents]]
agent = "copy-base"
[[agents]]
agent = "command"
label = "my scaffold v2"
args = { command = "python train.py" }
''', tiny_model)
    experiment, base = load_experiment(path)
    configs = expand(experiment, base)
    assert [c.run_id for c in configs] == [f"row_{b}_tiny-qwen3_{a}_s{s}" for a in ("copy-base", "my-scaffold-v2")
                                           for b in ("gsm8k", "humaneval") for s in (0, 1)]
    assert {c.label for c in configs} == {None, "my scaffold v2"} and configs[-1].agent_args == {"command": "python train.py"}
    assert all(c.hours == 2 and c.device == "cpu" and c.model.path == str(tiny_model) for c in configs)
    everything = write(tmp_path, 'benchmarks = "all"\n[[agents]]\nagent = "copy-base"', tiny_model)
    assert len(expand(*load_experiment(everything))) == len(all_benchmarks())


@pytest.mark.parametrize(("body", "message"), [
    ("benchmarks = [\"gsm8k\"\n", "is not valid TOML"),
    ('benchmarks = ["gsm8k"]\nagents = []', "agents"),
    ('benchmarks = ["gsm8k"]\ncolour = "red"\n[[agents]]\nagent = "copy-base"', "colour"),
    ('benchmarks = ["nope"]\n[[agents]]\nagent = "copy-base"', "nope"),
    ('benchmarks = ["gsm8k"]\n[[agents]]\nagent = "command"', "--agent-command"),
    ('benchmarks = ["gsm8k"]\n[[agents]]\nagent = "copy-base"\n[executor]\nkind = "pbs"', "kind"),
    ('benchmarks = ["gsm8k"]\n[[agents]]\nagent = "copy-base"\n[executor]\nmemory = "lots"', "'lots' is not a size"),
    ('benchmarks = ["gsm8k"]\n[[agents]]\nagent = "copy-base"\n[[agents]]\nagent = "copy-base"', "share the run id"),
])
def test_a_bad_experiment_is_one_line(tiny_model: Path, tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body, tiny_model)
    with pytest.raises(PtbError, match=message.replace("[", "\\[").replace("(", "\\(")):
        expand(*load_experiment(path))
    out = ptb("submit", str(path), "--dry-run")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and message in out.stderr, out.stderr


def test_bad_names_and_missing_files(tmp_path: Path) -> None:
    out = ptb("submit", str(tmp_path / "missing.toml"))
    assert out.returncode == 2 and "cannot read experiment" in out.stderr
    (tmp_path / "bad.toml").write_text('name = "a/b"\nhours = 1\nmodels = ["m"]\nbenchmarks = ["gsm8k"]\n[[agents]]\nagent = "copy-base"\n')
    out = ptb("status", str(tmp_path / "bad.toml"))
    assert out.returncode == 2 and "'a/b': use letters, digits" in out.stderr


def test_dry_run_status_and_a_changed_experiment(tiny_model: Path, tmp_path: Path) -> None:
    path = write(tmp_path, 'benchmarks = ["gsm8k"]\nseeds = [0, 1]\nresults = "out"\n[[agents]]\nagent = "copy-base"', tiny_model)
    dry = ptb("submit", str(path), "--dry-run", "--json")
    assert dry.returncode == 0 and "would submit 2 to local" in dry.stderr
    assert [row["state"] for row in json.loads(dry.stdout)] == ["not submitted"] * 2
    assert not list((tmp_path / "out").glob("*/config.json"))  # nothing was created
    # a run directory of the same name that holds another trial is never reused

    config = expand(*load_experiment(path))[0]
    other = config.model_copy(update={"hours": 5.0})
    Trial.create(other, tmp_path / "out" / config.run_id)
    out = ptb("status", str(path))
    assert out.returncode == 2 and "holds a different trial than the experiment declares" in out.stderr


def test_the_readme_experiment_is_valid(tmp_path: Path) -> None:
    from conftest import TESTS
    from posttrainbench.agents import create_agent

    readme = (TESTS.parent / "README.md").read_text()
    block = next(part.split("```", 1)[0] for part in readme.split("```toml\n")[1:] if part.startswith("# row.toml"))
    path = tmp_path / "row.toml"
    path.write_text(block)
    experiment, _ = load_experiment(path)
    assert experiment.executor.kind == "slurm" and len(experiment.seeds) * len(experiment.models) * 7 == 84
    for entry in experiment.agents:
        create_agent(entry.agent, **entry.args)  # the agent and its arguments exist
