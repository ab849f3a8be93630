"""Stage evaluate: the pristine evaluator in a fresh process, retried down the token ladder.

Each attempt writes its ``EvalSettings`` to ``evaluation/settings-<k>.json`` and runs ``python -m
posttrainbench eval --settings`` on it, from the installed package (never the workspace copy). Attempts are
recorded in ``evaluation/attempts.jsonl``; a resumed trial continues with the next attempt.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from posttrainbench.evaluation.benchmarks import TokenStep, get_benchmark
from posttrainbench.config import TrialConfig
from posttrainbench.errors import ERROR_PREFIX, StageError
from posttrainbench.evaluation.chat_templates import default_source
from posttrainbench.evaluation.eval_settings import EvalSettings, run_eval_process
from posttrainbench.fileio import iso_now, read_json, read_model, tail_lines, write_json_atomic
from posttrainbench.results.schema import CollectRecord, EvaluateRecord, Metrics
from posttrainbench.trial.context import Context
from posttrainbench.trial.paths import RunPaths


def ladder_for(config: TrialConfig) -> list[TokenStep]:
    caps = config.evaluation.max_tokens
    if caps:
        return [TokenStep(cap, 1) for cap in caps]
    return list(get_benchmark(config.benchmark).ladder)


def _attempt_plan(config: TrialConfig) -> list[int]:
    return [step.max_tokens for step in ladder_for(config) for _ in range(step.attempts)]


def _done_attempts(paths: RunPaths) -> list[dict[str, Any]]:
    if not paths.attempts.exists():
        return []
    return [json.loads(line) for line in paths.attempts.read_text().splitlines() if line.strip()]


def eval_settings(config: TrialConfig, model_path: Path, max_tokens: int) -> EvalSettings:
    """The final evaluation at one cap of the ladder: the trial's evaluation settings, as one document."""
    evaluation = config.evaluation
    judge = evaluation.judge_settings()
    return EvalSettings(model_path=model_path, benchmark=config.benchmark, family=config.model.family, max_tokens=max_tokens,
                        limit=evaluation.limit, data=evaluation.data, device=config.device, backend=evaluation.backend,
                        profile=evaluation.profile, seed=config.seed, repeats=evaluation.repeats, choice_seed=evaluation.choice_seed,
                        chat_template=evaluation.chat_template or default_source(), judge=judge)


def run_ladder(config: TrialConfig, paths: RunPaths) -> Metrics:
    """Return the metrics of the first successful attempt; raise ``StageError`` when every attempt fails."""
    paths.evaluation_dir.mkdir(parents=True, exist_ok=True)
    plan = _attempt_plan(config)
    done = _done_attempts(paths)
    if done and done[-1]["ok"] and paths.metrics.is_file():
        return read_model(paths.metrics, Metrics)  # crashed after success: keep it
    for index in range(len(done), len(plan)):
        attempt, cap = index + 1, plan[index]
        log = paths.attempt_log(attempt)
        output = paths.attempt_metrics(attempt)
        started = time.monotonic()
        with open(log, "w") as handle:
            try:
                proc = run_eval_process(eval_settings(config, paths.final_model, cap), paths.attempt_settings(attempt), output,
                                        stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        timeout=config.evaluation.attempt_timeout_s)
                code: int | None = proc.returncode
            except subprocess.TimeoutExpired:
                code = None
        ok = code == 0 and output.is_file() and isinstance(read_json(output).get("accuracy"), int | float)
        record = {"attempt": attempt, "max_tokens": cap, "exit_code": code, "ok": ok,
                  "seconds": round(time.monotonic() - started, 2), "finished_at": iso_now(), "log": str(log.relative_to(paths.root))}
        with open(paths.attempts, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        if ok:
            metrics = Metrics.model_validate({**read_json(output), "attempt": attempt, "attempts_planned": len(plan)})
            write_json_atomic(paths.metrics, metrics.model_dump(mode="json"))
            return metrics
    last = _done_attempts(paths)[-1] if plan else None
    reason = failure_reason(last, paths) if last else "no attempt planned"
    raise StageError("evaluate", f"all {len(plan)} evaluation attempts failed; last: {reason}",
                     log=paths.root / last["log"] if last else None)


def failure_reason(attempt: dict[str, Any], paths: RunPaths) -> str:
    """Why an attempt failed, in one line: the evaluator's own error line (``ptb: error: ...``, the last of
    its kind in the log), else the log's last non-blank line, else how the process ended."""
    lines = [line.strip() for line in tail_lines(paths.root / attempt["log"], 200) if line.strip()]
    errors = [line.removeprefix(ERROR_PREFIX) for line in lines if line.startswith(ERROR_PREFIX)]
    if errors:
        return errors[-1]
    if attempt["exit_code"] is None:
        return f"timed out after {attempt['seconds']:.0f}s"
    if lines:
        return lines[-1]
    return f"the evaluator exited with code {attempt['exit_code']} and no output"


def run(context: Context) -> EvaluateRecord:
    collected = context.record("collect", CollectRecord)
    if collected is None or not collected.submitted:
        return EvaluateRecord(skipped="the agent left no final_model")
    return EvaluateRecord(metrics=run_ladder(context.config, context.paths))
