"""How fast ``ptb report`` answers over a large results index.

    python benchmarks/report_speed.py --trials 10000

Generates an index of about ``--trials`` realistic trials (labels x 3 seeds x 4 base models x 7 benchmarks,
with failures, audit flags, traces' usage summaries and baselines) in a temporary results folder, then times
``ptb report`` in each format as a fresh process, which is what a user waits for: interpreter start,
imports, the index read and the scoring. Prints a markdown table; the target is under 2 s for the text
formats. ``html`` also writes one page per trial (10,000 files), so it is reported but has no target.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from posttrainbench.catalog import all_models
from posttrainbench.evaluation.benchmarks import all_benchmarks
from posttrainbench.integrity import CHECKS
from posttrainbench.results import index
from posttrainbench.results.index import Baseline
from posttrainbench.results.schema import (
    AuditRecord,
    CollectRecord,
    EvaluateRecord,
    Evidence,
    Metrics,
    Result,
    SolveRecord,
    TokenUsage,
    TraceSummary,
    Verdict,
)

SEEDS = 3


def trial(rng: random.Random, label: str, seed: int, model: str, benchmark: str, n: int) -> Result:
    status = rng.choices(["success", "error", "no_submission"], [0.9, 0.05, 0.05])[0]
    verdict = lambda: rng.choices(["clean", "flagged", "error"], [0.95, 0.03, 0.02])[0]  # noqa: E731
    usage = TokenUsage(input_tokens=rng.randint(10**6, 10**8), output_tokens=rng.randint(10**4, 10**6),
                       cached_input_tokens=rng.randint(0, 10**6), reasoning_tokens=rng.randint(0, 10**5),
                       cost_usd=round(rng.uniform(5, 900), 2))
    trace = TraceSummary(usage=usage, turns=rng.randint(10, 500), tool_calls=rng.randint(10, 2000))
    return Result(run_id=f"{label}-s{seed}-{model.replace('/', '_')}-{benchmark}-{n}", status=status, label=label, agent="codex",  # type: ignore[arg-type]
                  model=model, benchmark=benchmark, seed=seed, hours=10, sandbox="bubblewrap", device="cuda",
                  solve=SolveRecord(reason="normal", exit_code=0, wall_seconds=rng.uniform(600, 36000), budget_seconds=36000),
                  collect=CollectRecord(submitted=status != "no_submission", final_model_bytes=3 * 10**9, trace=trace),
                  evaluation=EvaluateRecord(metrics=Metrics(accuracy=rng.random(), stderr=0.01, n=500) if status == "success" else None),
                  audit=AuditRecord(verdicts=[Verdict(check=c, status=verdict(), evidence=[Evidence(rule="generated", detail="generated")])
                                              for c in CHECKS]),
                  stage_seconds={"solve": 36000.0, "evaluate": 900.0}, ptb_version="0", finished_at=f"2026-11-{1 + n % 28:02d}T00:00:00Z")


def generate(root: Path, trials: int) -> int:
    rng = random.Random(0)
    models, benchmarks = [m.id for m in all_models()], [b.id for b in all_benchmarks()]
    labels = max(1, round(trials / (SEEDS * len(models) * len(benchmarks))))
    entries, n = [], 0
    for label in range(labels):
        for seed in range(SEEDS):
            for model in models:
                for benchmark in benchmarks:
                    result = trial(rng, f"agent-{label:03d}", seed, model, benchmark, n)
                    entries.append((result, root / result.run_id))
                    n += 1
    index.upsert_many(root, entries)
    index.upsert_baselines(root, [Baseline(m, b, "base_zero_shot", rng.random() * 0.2, "generated") for m in models for b in benchmarks])
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ptb-report-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        n = generate(root, args.trials)
        print(f"indexed {n} trials in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        print(f"| format | trials | best of {args.repeat} | slowest |\n|---|---|---|---|")
        for fmt in ("md", "csv", "json", "html"):
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "posttrainbench", "report", "--results", str(root), "--format", fmt],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times.append(time.perf_counter() - started)
            print(f"| {fmt} | {n} | {min(times):.2f} s | {max(times):.2f} s |")


if __name__ == "__main__":
    main()
