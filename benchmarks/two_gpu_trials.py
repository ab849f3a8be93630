"""Two trials at once on a machine with two GPUs, each on its own GPU, through ``ptb submit`` and the local
executor (issue 19); then one trial is killed mid-solve and submitted again.

    PYTHONPATH=src:benchmarks python benchmarks/two_gpu_trials.py --out DIR                 # two GPUs, Qwen3-1.7B
    PYTHONPATH=src:benchmarks python benchmarks/two_gpu_trials.py --out DIR --device cpu --gpus 5,7   # a dry run here

The experiment: two ``command``-agent trials (seeds 0 and 1) in the bubblewrap sandbox. The scripted agent
records what it sees (``CUDA_VISIBLE_DEVICES``, the devices torch lists and their UUIDs, how many it would
list without ``CUDA_VISIBLE_DEVICES``, ``nvidia-smi -L``), runs ``--steps`` full fine-tuning steps on random
tokens (4 x 1,024) on a random-initialised Qwen3-1.7B, and saves ``final_model``; then the evaluation (32
GSM8K-shaped items, 64 tokens) and the audit. While they run, ``nvidia-smi --query-compute-apps`` is sampled
every two seconds and each GPU process is traced to its trial through the process tree, so the table says
which GPUs each trial's processes used and how much memory. When seed 1 has made ``--kill-at`` steps, its
whole process tree is killed (SIGKILL: a crash or a preemption); the submit then ends, ``ptb submit`` runs
again and must run seed 1 alone. With ``--device cpu`` the GPUs are a fake list and the agent trains a tiny
model on the CPU: a check of the harness, not of the GPUs.

Prints a markdown table and the checks, writes ``two_gpu_trials.json`` to ``--out``; exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from posttrainbench.executors.harbor import to_toml
from posttrainbench.process import descendants
from sft_throughput import recipe_model_apart

AGENT = r'''
import json, os, shutil, subprocess, sys, time
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

steps, base = int(sys.argv[1]), os.environ["PTB_BASE_MODEL_PATH"]
cuda = torch.cuda.is_available()
count = torch.cuda.device_count() if cuda else 0
hidden = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.device_count())"], env=hidden, capture_output=True, text=True)
smi = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True) if shutil.which("nvidia-smi") else None
seen = {"cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "device_count": count,
        "uuids": [str(torch.cuda.get_device_properties(i).uuid) for i in range(count)],
        "device_count_without_cuda_visible_devices": int(probe.stdout.strip() or -1),
        "nvidia_smi": smi.stdout.splitlines() if smi else [], "started": time.time(), "step": 0}
model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.bfloat16 if cuda else torch.float32, use_kernels=False)
model = model.to("cuda" if cuda else "cpu").train()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=cuda)
for step in range(1, steps + 1):
    ids = torch.randint(0, min(5000, model.config.vocab_size), (4, 1024 if cuda else 64), device=model.device)
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    seen.update(step=step, loss=float(loss.detach()), at=time.time(), peak_gb=round(torch.cuda.max_memory_allocated() / 1e9, 1) if cuda else None)
    with open("gpu_seen.json", "w") as f:
        json.dump(seen, f)
model.save_pretrained("final_model")
AutoTokenizer.from_pretrained(base).save_pretrained("final_model")
seen["ended"] = time.time()
with open("gpu_seen.json", "w") as f:
    json.dump(seen, f)
'''


def build(scratch: Path, device: str) -> tuple[Path, Path, Path]:
    """The model (random Qwen3-1.7B on a GPU machine, the tiny Qwen3 on the CPU), the evaluation's data and the
    agent's script."""
    from posttrainbench.tiny import build_tiny_qwen3, write_demo_gsm8k

    model = scratch / "model"
    if not (model / "config.json").is_file():
        if device == "cuda":
            recipe_model_apart(model)
        else:
            build_tiny_qwen3(model, initializer_range=0.25)
    data = write_demo_gsm8k(scratch / "benchmark", n_test=32)
    agent = scratch / "agent.py"
    agent.write_text(AGENT)
    return model, data, agent


def experiment_file(scratch: Path, model: Path, data: Path, agent: Path, args: argparse.Namespace) -> Path:
    path = scratch / "two_gpus.toml"
    path.write_text(to_toml([
        ("", {"name": "twogpu", "hours": args.hours, "grace_minutes": 1, "seeds": [0, 1], "benchmarks": ["gsm8k"],
              "models": [{"path": str(model), "family": "qwen3"}], "device": args.device, "gpus_per_trial": 1,
              "sandbox": args.sandbox, "results": str(scratch / "results")}),
        ("[[agents]]", {"agent": "command", "args": {"command": shlex.join([sys.executable, str(agent), str(args.steps)])}}),
        ("[evaluation]", {"limit": 32, "max_tokens": [64], "data": str(data), "chat_template": "project"}),
        ("[executor]", {"kind": "local", "gpus": args.gpus.split(",")}),
    ]))
    return path


def ptb(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "posttrainbench", *argv], capture_output=True, text=True)


class GpuSampler(threading.Thread):
    """Samples ``nvidia-smi --query-compute-apps`` and traces each GPU process to the trial whose job
    process it descends from: {run_id: {gpu_uuid: peak MiB}}."""

    def __init__(self, results: Path):
        super().__init__(daemon=True)
        self.results, self.used, self.done = results, {}, threading.Event()

    def run(self) -> None:
        while not self.done.wait(2.0):
            try:
                rows = subprocess.run(["nvidia-smi", "--query-compute-apps=gpu_uuid,pid,used_memory", "--format=csv,noheader,nounits"],
                                      capture_output=True, text=True, timeout=20).stdout.splitlines()
            except (OSError, subprocess.TimeoutExpired):
                return
            pids = {job.parent.name: int(json.loads(job.read_text())["job_id"]) for job in self.results.glob("*/job.json")}
            trees = {run: {pid, *descendants(pid)} for run, pid in pids.items()}
            for row in rows:
                uuid, pid, mib = (part.strip() for part in row.split(","))
                owner = next((run for run, pids in trees.items() if int(pid) in pids), "not a trial's")
                gpus = self.used.setdefault(owner, {})
                gpus[uuid] = max(gpus.get(uuid, 0), int(mib))


def seen(run: Path) -> dict[str, object]:
    path = run / "workspace" / "gpu_seen.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def kill_tree(run: Path) -> None:
    pid = int(json.loads((run / "job.json").read_text())["job_id"])
    for process in [*reversed(descendants(pid)), pid]:
        try:
            os.kill(process, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scratch", type=Path, default=Path("/srv/ptb-two-gpus"), help="Not under /tmp or a home: the sandbox hides those")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--gpus", default="0,1", help="The executor's GPU list")
    parser.add_argument("--sandbox", default="bubblewrap")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--kill-at", type=int, default=10, help="Kill seed 1 once it has made this many steps")
    parser.add_argument("--hours", type=float, default=0.1)
    args = parser.parse_args()

    model, data, agent = build(args.scratch, args.device)
    experiment = experiment_file(args.scratch, model, data, agent, args)
    results = args.scratch / "results"
    sampler = GpuSampler(results)
    if args.device == "cuda":
        sampler.start()
    started = time.time()
    first = subprocess.Popen([sys.executable, "-m", "posttrainbench", "submit", str(experiment)], stderr=subprocess.PIPE, text=True)
    victim = None
    while first.poll() is None:
        runs = {run.name: run for run in results.glob("*_s1") if (run / "job.json").is_file()}
        victim = next(iter(runs.values()), None)
        if victim is not None and int(seen(victim).get("step", 0)) >= args.kill_at:  # type: ignore[call-overload]
            kill_tree(victim)
            break
        time.sleep(0.5)
    killed_at = time.time() - started
    first_err = first.communicate()[1]
    first_wall = time.time() - started
    runs = {run.name.rsplit("_", 1)[1]: run for run in results.glob("twogpu_*") if run.is_dir()}
    survivor_result = (runs["s0"] / "result.json").stat().st_mtime if (runs["s0"] / "result.json").is_file() else None
    state_after_kill = {row["run_id"]: row["state"] for row in json.loads(ptb("status", str(experiment), "--json").stdout)}
    seen_before = {name: seen(run) for name, run in runs.items()}
    again = ptb("submit", str(experiment))
    second_wall = time.time() - started - first_wall
    sampler.done.set()
    final = {row["run_id"]: row for row in json.loads(ptb("status", str(experiment), "--json").stdout)}
    with sqlite3.connect(results / "index.sqlite") as index:
        indexed = [row[0] for row in index.execute("SELECT run_id FROM trials")]

    spans = {name: (float(seen_before[name].get("started", 0)), float(seen_before[name].get("at", 0))) for name in ("s0", "s1")}  # type: ignore[arg-type]
    overlap = min(spans["s0"][1], spans["s1"][1]) - max(spans["s0"][0], spans["s1"][0])
    report = {"device": args.device, "gpus": args.gpus, "first_submit_wall_s": round(first_wall, 1), "killed_after_s": round(killed_at, 1),
              "first_submit_exit": first.returncode, "state_after_kill": state_after_kill, "second_submit_exit": again.returncode,
              "second_submit_wall_s": round(second_wall, 1), "second_submit_said": again.stderr.strip().splitlines()[:3],
              "solve_overlap_s": round(overlap, 1), "final": {run: {k: row.get(k) for k in ("state", "detail")} for run, row in final.items()},
              "indexed": indexed, "survivor_result_untouched": survivor_result is not None and (runs["s0"] / "result.json").stat().st_mtime == survivor_result,
              "seen": {name: seen(run) for name, run in runs.items()}, "seen_before_kill": seen_before, "gpu_processes": sampler.used,
              "first_submit_said": first_err.strip().splitlines()[-6:]}
    checks = {
        "both ran at the same time": overlap > 0,
        # while both ran (the resubmitted trial may take whichever GPU is free)
        "each saw exactly one device, its own" if args.device == "cuda" else "each was given its own GPU":
            all(view.get("cuda_visible_devices") for view in seen_before.values())
            and len({view.get("cuda_visible_devices") for view in seen_before.values()}) == 2
            and (args.device != "cuda" or all(view.get("device_count") == 1 for view in seen_before.values())),
        "the killed trial showed as stopped, the other finished": sorted(state_after_kill.values()) == ["finished", "stopped"],
        "the second submit ran only the killed trial": "submitting 1" in again.stderr,
        "both finished with a result": [row["state"] for row in final.values()] == ["finished", "finished"],
        "each indexed once": sorted(indexed) == sorted(final),
        "the first trial's result was not redone": bool(report["survivor_result_untouched"]),
    }
    if args.device == "cuda":
        checks["no trial's processes on the other's GPU"] = all(len(gpus) == 1 for run, gpus in sampler.used.items() if run != "not a trial's") \
            and len({next(iter(gpus)) for run, gpus in sampler.used.items() if run != "not a trial's"}) == 2
    report["checks"] = checks
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "two_gpu_trials.json").write_text(json.dumps(report, indent=1))
    print("| trial | GPU while both ran | GPU at the end | devices seen | without CUDA_VISIBLE_DEVICES | GPU processes (peak MiB) | peak allocated | state |")
    print("|---|---|---|---|---|---|---|---|")
    for name, run in sorted(runs.items()):
        view = seen(run)
        print(f"| {name} | {seen_before[name].get('cuda_visible_devices')} | {view.get('cuda_visible_devices')} | {view.get('device_count')} {view.get('uuids')} | "
              f"{view.get('device_count_without_cuda_visible_devices')} | {sampler.used.get(run.name, {})} | {view.get('peak_gb')} GB | "
              f"{final.get(run.name, {}).get('state')} |")
    print(f"first submit: {first_wall:.0f} s (seed 1 killed after {killed_at:.0f} s); second submit: {second_wall:.0f} s; "
          f"solves overlapped {overlap:.0f} s")
    for check, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {check}")
    if not all(checks.values()):
        print("the first submit said:\n  " + "\n  ".join(report["first_submit_said"]))  # type: ignore[arg-type]
        for run, row in final.items():
            print(f"{run}: {row.get('state')} {row.get('detail')}")
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
