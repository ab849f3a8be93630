"""Stage evaluate: the pristine evaluator in a fresh process, retried down the token ladder.

Each attempt runs ``python -m posttrainbench eval`` from the installed package (never the workspace copy)
and is recorded in ``evaluation/attempts.jsonl``; a resumed trial continues with the next attempt.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from posttrainbench.catalog import TokenStep, get_benchmark
from posttrainbench.config import TrialConfig
from posttrainbench.errors import ERROR_PREFIX, StageError
from posttrainbench.evaluation.chat_templates import default_source
from posttrainbench.fileio import iso_now, read_json, tail_lines, write_json_atomic
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


def eval_argv(config: TrialConfig, model_path: Path, max_tokens: int, output: Path) -> list[str]:
    argv = [
        sys.executable, "-m", "posttrainbench", "eval",
        "--model-path", str(model_path), "--benchmark", config.benchmark, "--family", config.model.family,
        "--max-tokens", str(max_tokens), "--device", config.device, "--backend", config.evaluation.backend,
        "--profile", config.evaluation.profile, "--seed", str(config.seed), "--json-output-file", str(output),
        "--judge-api-key-env", config.evaluation.judge_api_key_env,
        "--judge-max-failure-rate", str(config.evaluation.judge_max_failure_rate),
    ]
    if config.evaluation.judge_base_url:
        argv += ["--judge-base-url", config.evaluation.judge_base_url]
    if config.evaluation.judge_model:
        argv += ["--judge-model", config.evaluation.judge_model]
    if config.evaluation.limit is not None:
        argv += ["--limit", str(config.evaluation.limit)]
    if config.evaluation.repeats > 1:
        argv += ["--repeats", str(config.evaluation.repeats)]
    if config.evaluation.choice_seed is not None:
        argv += ["--choice-seed", str(config.evaluation.choice_seed)]
    argv += ["--chat-template", config.evaluation.chat_template or default_source()]
    if config.evaluation.data is not None:
        argv += ["--data", config.evaluation.data]
    return argv


def run_ladder(config: TrialConfig, paths: RunPaths) -> dict[str, Any]:
    """Return the metrics of the first successful attempt; raise ``StageError`` when every attempt fails."""
    paths.evaluation_dir.mkdir(parents=True, exist_ok=True)
    plan = _attempt_plan(config)
    done = _done_attempts(paths)
    if done and done[-1]["ok"] and paths.metrics.is_file():
        return read_json(paths.metrics)  # type: ignore[no-any-return]  # crashed after success: keep it
    for index in range(len(done), len(plan)):
        attempt, cap = index + 1, plan[index]
        log = paths.attempt_log(attempt)
        output = paths.attempt_metrics(attempt)
        started = time.monotonic()
        with open(log, "w") as handle:
            try:
                proc = subprocess.run(
                    eval_argv(config, paths.final_model, cap, output),
                    stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    timeout=config.evaluation.attempt_timeout_s,
                )
                code: int | None = proc.returncode
            except subprocess.TimeoutExpired:
                code = None
        ok = code == 0 and output.is_file() and isinstance(read_json(output).get("accuracy"), int | float)
        record = {"attempt": attempt, "max_tokens": cap, "exit_code": code, "ok": ok,
                  "seconds": round(time.monotonic() - started, 2), "finished_at": iso_now(), "log": str(log.relative_to(paths.root))}
        with open(paths.attempts, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        if ok:
            metrics = {**read_json(output), "attempt": attempt, "attempts_planned": len(plan)}
            write_json_atomic(paths.metrics, metrics)
            return metrics
    last = _done_attempts(paths)[-1] if plan else None
    reason = failure_reason(last, paths) if last else "no attempt planned"
    raise StageError("evaluate", f"all {len(plan)} evaluation attempts failed; last: {reason}")


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


def run(context: Context) -> dict[str, Any]:
    if not context.marker("collect")["data"]["submitted"]:
        return {"skipped": "the agent left no final_model"}
    return {"metrics": run_ladder(context.config, context.paths)}
