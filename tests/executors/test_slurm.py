"""The Slurm executor against a real single-node cluster on loopback: an experiment of command-agent trials
is submitted, one job is killed mid-solve, the experiment is submitted again, and every trial finishes
exactly once with its result, each job on its own (fake) GPU."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import slurm_cluster
from experiment_files import command_experiment, wait_for
from conftest import ptb
from posttrainbench.executors.slurm import job_script, time_limit
from posttrainbench.executors.experiment import load_experiment

pytestmark = pytest.mark.slow

AGENT = 'echo "gpu=$CUDA_VISIBLE_DEVICES"; sleep 8; cp -r "$PTB_BASE_MODEL_PATH" final_model'


def write_experiment(folder: Path, tiny_model: Path, demo_gsm8k: Path) -> Path:
    return command_experiment(folder / "slurm experiment.toml", "onslurm", tiny_model, AGENT, seeds=(0, 1, 2), hours=0.1, gpus_per_trial=1,
                              evaluation={"limit": 2, "max_tokens": [8], "data": str(demo_gsm8k)},
                              executor={"kind": "slurm", "cpus": 1, "memory": "1G", "disk": "1G", "evaluation_hours": 0.5})


def states(experiment: Path, env: dict[str, str]) -> dict[str, dict[str, str]]:
    out = ptb("status", str(experiment), "--json", env=env)
    assert out.returncode == 0, out.stderr
    return {row["run_id"].rsplit("_", 1)[-1]: row for row in json.loads(out.stdout)}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    problem = slurm_cluster.problem()
    if problem:
        pytest.skip(problem)
    with slurm_cluster.slurm_cluster(tmp_path_factory.mktemp("slurm"), gpus=2) as env:
        yield env


def test_killed_job_is_resubmitted_and_every_trial_finishes_once(cluster: dict[str, str], tiny_model: Path, demo_gsm8k: Path,
                                                                 tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, tiny_model, demo_gsm8k)
    results = tmp_path / "results"
    env = cluster
    submitted = ptb("submit", str(experiment), "--json", env=env)
    assert submitted.returncode == 0, submitted.stderr
    assert "3 trials; 0 with a result or in flight; submitting 3 to slurm" in submitted.stderr
    first = {row["run_id"].rsplit("_", 1)[-1]: row["job"] for row in json.loads(submitted.stdout)}
    # two fake GPUs, one per trial: two run, the third waits for a GPU
    wait_for(lambda: sorted(r["state"] for r in states(experiment, env).values()) == ["queued", "running", "running"],
             "two running and one queued")
    victim = results / "onslurm_gsm8k_tiny-qwen3_command_s0"
    wait_for(lambda: (victim / "stages" / "solve.started.json").is_file(), "s0's solve to start")
    subprocess.run(["scancel", first["s0"]], env=env, check=True)
    wait_for(lambda: states(experiment, env)["s0"]["state"] == "stopped", "s0 to show as stopped")
    wait_for(lambda: all(r["state"] in ("finished", "stopped") for r in states(experiment, env).values()), "the others to finish")
    assert "job " + first["s0"] + " CANCELLED" in states(experiment, env)["s0"]["detail"]

    again = ptb("submit", str(experiment), env=env)
    assert again.returncode == 0, again.stderr
    assert "3 trials; 2 with a result or in flight; submitting 1 to slurm" in again.stderr
    def all_finished() -> dict[str, dict[str, str]] | None:
        now = states(experiment, env)
        return now if all(r["state"] == "finished" for r in now.values()) else None

    final = wait_for(all_finished, "every trial to finish")

    assert {seed: row["detail"] for seed, row in final.items()} == {"s0": "success", "s1": "success", "s2": "success"}
    assert final["s0"]["job"] != first["s0"] and final["s1"]["job"] == first["s1"] and final["s2"]["job"] == first["s2"]
    with sqlite3.connect(results / "index.sqlite") as index:
        assert sorted(row[0] for row in index.execute("SELECT run_id FROM trials")) == sorted(r["run_id"] for r in final.values())
    gpus = {}
    for seed, row in final.items():
        run_dir = Path(row["run_dir"])
        gpus[seed] = [line.split("gpu=", 1)[1] for line in (run_dir / "agent" / "output.log").read_text().splitlines() if "gpu=" in line]
        assert gpus[seed] and all(gpu in ("0", "1") for gpu in gpus[seed]), (seed, gpus[seed])
        assert (run_dir / "job.sbatch").read_text().count("#SBATCH --gres=gpu:1") == 1
        jobs = sorted(log.name for log in run_dir.glob("slurm-*.log"))
        # s1 and s2 ran in their first job only; s0 in both of its jobs (the first was killed mid-solve)
        assert jobs == sorted(f"slurm-{job}.log" for job in {first[seed], row["job"]}), (seed, jobs)
    assert len(gpus["s1"]) == len(gpus["s2"]) == 1
    assert gpus["s0"][0] != gpus["s1"][0]  # s0 and s1 ran at the same time, each on its own GPU


def test_cancel_stops_every_job_and_submit_resumes(cluster: dict[str, str], tiny_model: Path, demo_gsm8k: Path, tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, tiny_model, demo_gsm8k)
    experiment.write_text(experiment.read_text().replace('name = "onslurm"', 'name = "tocancel"').replace("sleep 8", "sleep 300"))
    assert ptb("submit", str(experiment), env=cluster).returncode == 0
    wait_for(lambda: sorted(r["state"] for r in states(experiment, cluster).values()) == ["queued", "running", "running"], "the jobs to start")
    out = ptb("cancel", str(experiment), env=cluster)
    assert out.returncode == 0 and "tocancel: cancelled 3 job(s)" in out.stderr, out.stderr
    wait_for(lambda: [r["state"] for r in states(experiment, cluster).values()] == ["stopped"] * 3, "every trial to show as stopped")
    assert ptb("cancel", str(experiment), env=cluster).stderr.strip().endswith("cancelled 0 job(s)")
    again = ptb("submit", str(experiment), "--dry-run", env=cluster)
    assert "3 trials; 0 with a result or in flight; would submit 3 to slurm" in again.stderr


def test_the_job_script_asks_for_what_the_experiment_declares(tiny_model: Path, demo_gsm8k: Path, tmp_path: Path) -> None:
    experiment, _ = load_experiment(write_experiment(tmp_path, tiny_model, demo_gsm8k))
    options = experiment.executor.model_copy(update={"partition": "gpu", "gpu_type": "h100", "qos": "high", "extra": ["--exclusive"]})
    script = job_script(experiment.model_copy(update={"executor": options}), tmp_path / "run dir", "/opt/venv/bin/python")
    directives = [line.removeprefix("#SBATCH ") for line in script.splitlines() if line.startswith("#SBATCH")]
    assert directives == ["--job-name=ptb-run dir", "--output=slurm-%j.log", "--open-mode=append", "--time=0-00:47:00",
                          "--nodes=1", "--ntasks=1", "--cpus-per-task=1", "--mem=1G", "--tmp=1G", "--gres=gpu:h100:1",
                          "--requeue", "--partition=gpu", "--qos=high", "--exclusive"]
    assert script.rstrip().endswith(f"exec /opt/venv/bin/python -m posttrainbench resume '{tmp_path}/run dir'")
    assert time_limit(experiment.model_copy(update={"hours": 10.0, "grace_minutes": 5.0})) == "0-10:45:00"
