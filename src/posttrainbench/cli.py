"""The ``ptb`` command: a thin skin over the modules; no logic lives here."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from posttrainbench import settings
from posttrainbench.errors import (ERROR_PREFIX, EXIT_CODES_HELP, ExitCode, PtbError, TrialFailedError, WorkFailedError,
                                  check_choice, missing_extra)
from posttrainbench.fileio import tail_lines
from posttrainbench.trial.paths import RunPaths

app = typer.Typer(
    name="ptb", no_args_is_help=True, add_completion=False, rich_markup_mode="markdown",
    help="PostTrainBench harness: can an AI agent post-train a base LLM on its own?", epilog=EXIT_CODES_HELP,
)


def _console(stderr: bool = False) -> Console:
    """A console that wraps and truncates nothing when its stream is not a terminal (logs, pipes, scripts):
    paths and run ids must survive whole, to be copied."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=100_000)


out = _console()
err = _console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        from posttrainbench import __version__

        typer.echo(f"ptb {__version__}")
        raise typer.Exit(ExitCode.SUCCESS)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_print_version)] = False,
) -> None:
    """PostTrainBench harness: can an AI agent post-train a base LLM on its own?"""

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
CHAT_TEMPLATE_HELP = ("Chat template: upstream (the original's file for the family, fetched by `ptb data fetch` and checked "
                      "by SHA-256) or project (this project's own; scores not comparable with the published leaderboard). "
                      "Default: env PTB_CHAT_TEMPLATE, else upstream.")
ResultsOpt = Annotated[Optional[Path], typer.Option("--results", help="Results folder (env PTB_RESULTS; default ./results).")]


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _table(title: str, columns: list[str], rows: list[list[Any]], whole: tuple[str, ...] = ()) -> None:
    """A table of data (never markup: `[hf]` stays `[hf]`); the ``whole`` columns are never wrapped or
    truncated (run ids, to be copied), the others wrap when the terminal is narrow."""
    table = Table(title=title)
    cells = [["" if v is None else escape(str(v)) for v in row] for row in rows]
    for number, column in enumerate(columns):
        if column in whole:
            table.add_column(column, no_wrap=True, min_width=max((len(row[number]) for row in cells), default=0))
        else:
            table.add_column(column, overflow="fold")
    for row in cells:
        table.add_row(*row)
    out.print(table)


def _progress(stage: str, event: str) -> None:
    err.print(f"[bold cyan]{stage:>9}[/] {escape(event)}", soft_wrap=True)


@app.command()
def benchmarks(as_json: JsonOpt = False) -> None:
    """List the seven benchmarks with their weights and evaluation defaults.

    Examples: `ptb benchmarks`, `ptb benchmarks --json`
    """
    from posttrainbench.evaluation.benchmarks import all_benchmarks

    items = all_benchmarks()
    if as_json:
        return _print_json([b.to_dict() for b in items])
    _table("Benchmarks", ["id", "name", "weight", "test n", "max tokens ladder"],
           [[b.id, b.name, f"{b.weight:.4f}", b.n_test, " > ".join(str(s.max_tokens) for s in b.ladder)] for b in items])


@app.command()
def models(as_json: JsonOpt = False) -> None:
    """List the four base models with family, chat template and forbidden instruct counterpart.

    Examples: `ptb models`, `ptb models --json`
    """
    from posttrainbench.catalog import all_models

    items = all_models()
    if as_json:
        return _print_json([m.to_dict() for m in items])
    _table("Base models", ["id", "family", "chat template", "instruct (forbidden)"],
           [[m.id, m.family, m.to_dict()["chat_template"], m.instruct] for m in items])


@app.command()
def agents(as_json: JsonOpt = False) -> None:
    """List the registered agents and whether they can run here.

    Examples: `ptb agents`, `ptb agents --json`
    """
    from posttrainbench.agents import agent_names
    from posttrainbench.agents.scaffold import ScaffoldAgent
    from posttrainbench.registry import lookup

    rows = []
    for name in agent_names():
        cls = lookup("agent", name)
        scaffold = isinstance(cls, type) and issubclass(cls, ScaffoldAgent)
        probe = cls if scaffold else (None if name == "command" else cls())  # command needs its command line
        problem = probe.problem() if probe is not None else None
        rows.append({"id": name, "version": probe.version() if probe is not None else None,
                     "pinned_version": cls.pinned_version if scaffold else None,
                     "ready": problem is None, "problem": problem, "description": cls.description})
    if as_json:
        return _print_json(rows)
    _table("Agents", ["id", "version", "pinned", "ready", "description"],
           [[r["id"], r["version"] or "-", r["pinned_version"] or "-", r["ready"] if r["ready"] else f"no: {r['problem']}",
             r["description"]] for r in rows])


@app.command()
def trace(
    agent: Annotated[str, typer.Argument(help="Scaffold whose output FILE is: claude-code, codex, gemini-cli or opencode.")],
    file: Annotated[Path, typer.Argument(help="The scaffold's raw JSON-lines output, or a trial's agent/output.log.")],
    agent_model: Annotated[Optional[str], typer.Option(help="Model to price the tokens with where the trace names none.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Parse a scaffold's saved output into the common event log and print the readable transcript.

    With --json, prints one object: `events` (each with a `kind`: message, reasoning, tool_call, tool_result,
    error, usage or other) and `usage` (input, output, cached input and reasoning tokens, cost in USD: the
    scaffold's own figure, else the price table's for the trace's model or --agent-model, else null).

    Examples: `ptb trace codex runs/x/agent/output.log`, `ptb trace claude-code session.jsonl --json`
    """
    from posttrainbench.agents import agent_names
    from posttrainbench.agents.scaffold import ScaffoldAgent, priced
    from posttrainbench.agents.trace import transcript
    from posttrainbench.registry import lookup

    scaffolds = [n for n in agent_names() if issubclass(lookup("agent", n), ScaffoldAgent)]
    if agent not in scaffolds:
        raise PtbError(f"no trace parser for {agent!r}; parsers: {', '.join(scaffolds)}")
    if file.is_dir():
        hint = f"; its agent log is {file / 'agent' / 'output.log'}" if (file / "agent" / "output.log").is_file() else ""
        raise PtbError(f"trace file {file} is a directory, not a file{hint}")
    try:
        text = file.read_text(errors="replace")
    except OSError as error:
        raise PtbError(f"cannot read trace file {file}: {error.strerror or error}") from None
    parsed = priced(lookup("agent", agent).parse(text), agent_model)
    if as_json:
        return _print_json(parsed.to_json())
    typer.echo(transcript(parsed), nl=False)


def _agent_args(extra: list[str] | None = None, **given: object) -> dict[str, object]:
    """The agent options the user gave (an agent rejects the ones it does not take); ``extra`` are
    ``--agent-arg KEY=VALUE`` pairs, numbers read as numbers."""
    args = {name: value for name, value in given.items() if value is not None}
    for pair in extra or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PtbError(f"--agent-arg takes KEY=VALUE, got {pair!r}")
        args[key.replace("-", "_")] = _number_or_text(value)
    return args


def _number_or_text(value: str) -> object:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


@app.command()
def run(
    agent: Annotated[str, typer.Option(help="Agent name (see `ptb agents`).")],
    model: Annotated[str, typer.Option(help="Catalog model id (resolved in the HF cache) or a local model directory.")],
    benchmark: Annotated[str, typer.Option(help="Benchmark id (see `ptb benchmarks`).")],
    hours: Annotated[float, typer.Option(help="The agent's time budget in hours.")] = 10.0,
    family: Annotated[Optional[str], typer.Option(help="Model family for a local model directory: qwen3, smollm3, gemma3.")] = None,
    agent_command: Annotated[Optional[str], typer.Option(help="Shell command for --agent command.")] = None,
    agent_arg: Annotated[Optional[list[str]], typer.Option(help="Another option of the agent, KEY=VALUE (repeatable), e.g. --agent-arg data=./sft-data for --agent reference.")] = None,
    agent_model: Annotated[Optional[str], typer.Option(help="Model the scaffold runs (claude-code, codex, gemini-cli, opencode).")] = None,
    agent_effort: Annotated[Optional[str], typer.Option(help="Reasoning effort of the scaffold's model, where it has one.")] = None,
    agent_base_url: Annotated[Optional[str], typer.Option(help="Custom Anthropic- or OpenAI-compatible endpoint for the scaffold.")] = None,
    reprompt: Annotated[bool, typer.Option(help="Resume the agent when it stops with time left.")] = False,
    reprompt_min_minutes: Annotated[float, typer.Option(help="Resume only with at least this many minutes left.")] = 30.0,
    max_reprompts: Annotated[Optional[int], typer.Option(help="Resume at most this many times (default: until the budget is spent).", min=0)] = None,
    seed: Annotated[int, typer.Option(help="Seed number of this trial (one leaderboard seed).")] = 0,
    sandbox: Annotated[str, typer.Option(help="bubblewrap (default), apptainer, podman, docker (with --container-image), or none (no isolation, debug only).")] = "bubblewrap",
    container_image: Annotated[Optional[str], typer.Option(help="apptainer/podman/docker: the agent's image (a .sif file or an image reference; see containers/).")] = None,
    no_network: Annotated[bool, typer.Option("--no-network", help="Cut the agent off the network.")] = False,
    device: Annotated[str, typer.Option(help="cuda (default) or cpu (demos and tests).")] = "cuda",
    prompt_file: Annotated[Optional[Path], typer.Option(help="Own prompt template with {model} {benchmark} {num_hours} {gpu_info}.")] = None,
    label: Annotated[Optional[str], typer.Option(help="Leaderboard row name (default: the agent name).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Evaluate only N samples (not comparable; recorded).", min=1)] = None,
    max_tokens: Annotated[Optional[list[int]], typer.Option(help="Token caps instead of the ladder (not comparable; recorded).", min=1)] = None,
    eval_data: Annotated[Optional[str], typer.Option(help="Local data for the final evaluation instead of the pinned source.")] = None,
    eval_backend: Annotated[str, typer.Option(help="Final evaluation backend: auto, hf or vllm.")] = "auto",
    eval_profile: Annotated[str, typer.Option(help="Final evaluation profile: fast or upstream (same scores).")] = "fast",
    eval_repeats: Annotated[int, typer.Option(help="Evaluate final_model N times with seeds SEED, SEED+1, ...; the score is their mean.", min=1)] = 1,
    eval_choice_seed: Annotated[Optional[int], typer.Option(help="GPQA: fixed option shuffle (default: a new order each evaluation, as the original).", min=0)] = None,
    eval_chat_template: Annotated[Optional[str], typer.Option(help=CHAT_TEMPLATE_HELP)] = None,
    judge_base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint of the LLM judge.")] = None,
    judge_model: Annotated[Optional[str], typer.Option(help="Judge model (default gpt-5-mini).")] = None,
    judge_api_key_env: Annotated[str, typer.Option(help="Environment variable holding the judge's API key (stays on the host).")] = "OPENAI_API_KEY",
    audit_judge_model: Annotated[Optional[str], typer.Option(help="Also ask this LLM in the audit, one role per check, on the judge's endpoint and key (see Integrity).")] = None,
    audit_judge_runs: Annotated[int, typer.Option(help="Audit judge runs per check; a strict majority decides.", min=1)] = 1,
    grace_minutes: Annotated[float, typer.Option(help="Minutes after the budget before the hard kill.")] = 5,
    results: ResultsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run one trial: prepare, preflight, solve, collect, audit, evaluate, record.

    Exits 1 when the trial does not succeed (it ends in error or without a submission).

    Examples:

    - `ptb run --agent copy-base --model Qwen/Qwen3-1.7B-Base --benchmark gsm8k --hours 1`
    - `ptb run --agent command --agent-command 'python train.py' --model ./my-model --family qwen3 --benchmark gsm8k --hours 2 --device cpu`
    """
    from posttrainbench import api
    from posttrainbench.config import EvalOverrides
    from posttrainbench.evaluation.chat_templates import TEMPLATE_SOURCES
    from posttrainbench.trial.stages.prepare import final_templates

    if eval_chat_template is not None:
        check_choice("--eval-chat-template", eval_chat_template, TEMPLATE_SOURCES)
    if max_reprompts is not None and not reprompt:
        raise PtbError("--max-reprompts needs --reprompt")
    if sandbox == "none":
        err.print("[bold red]WARNING: --sandbox none: the agent runs WITHOUT isolation.[/]")
    config = api.make_config(
        agent=agent, model=model, benchmark=benchmark, hours=hours, family=family,
        agent_args=_agent_args(agent_arg, command=agent_command, model=agent_model, reasoning_effort=agent_effort, base_url=agent_base_url,
                               reprompt=reprompt or None, reprompt_min_minutes=reprompt_min_minutes if reprompt else None,
                               max_reprompts=max_reprompts if reprompt else None),
        seed=seed, sandbox=sandbox, container_image=container_image,
        network=not no_network, device=device, prompt_file=prompt_file, label=label,
        evaluation=EvalOverrides(limit=limit, max_tokens=max_tokens or None, data=eval_data, backend=eval_backend,
                                 profile=eval_profile, judge_base_url=judge_base_url, judge_model=judge_model,
                                 judge_api_key_env=judge_api_key_env, repeats=eval_repeats, choice_seed=eval_choice_seed, chat_template=eval_chat_template),
        grace_minutes=grace_minutes, audit_judge_model=audit_judge_model, audit_judge_runs=audit_judge_runs,
    )
    final_templates(config)  # bad input before the trial starts: the original's templates not fetched
    root = api.results_root(results)
    announced = False

    def progress(stage: str, event: str) -> None:
        nonlocal announced
        if not announced:  # once the trial starts: api.run first checks the machine, which may fail
            err.print(f"run directory: {root / config.run_id}", soft_wrap=True)
            announced = True
        _progress(stage, event)

    try:
        result = api.run(config, root, progress=progress)
    except KeyboardInterrupt:
        err.print(f"to finish this trial later: ptb resume {shlex.quote(str(root / config.run_id))}", soft_wrap=True)
        raise
    _show_result(result, as_json)
    _exit_unless_succeeded(result, root / config.run_id)


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="The run directory of the trial to finish.")],
    as_json: JsonOpt = False,
) -> None:
    """Finish a trial after a crash or kill, without redoing finished stages.

    Exits 1 when the trial does not succeed, as `ptb run` does.

    Example: `ptb resume results/gsm8k_Qwen3-1.7B-Base_copy-base_s0_20261122T101500Z_ab12`
    """
    from posttrainbench import api

    result = api.resume(run_dir, progress=_progress)
    _show_result(result, as_json)
    _exit_unless_succeeded(result, run_dir)


def _show_result(result: Any, as_json: bool) -> None:
    if as_json:
        return _print_json(result.model_dump(mode="json"))
    solve = result.solve
    out.print(f"[bold]{escape(result.run_id)}[/]: {result.status}; agent ended {solve.reason if solve else '?'} "
              f"after {solve.wall_seconds if solve and solve.wall_seconds else 0:.1f}s; final_model {'submitted' if result.submitted else 'missing'}; "
              f"accuracy {result.accuracy if result.accuracy is not None else '-'}", soft_wrap=True)
    if result.error:
        out.print(f"[red]{escape(result.error.stage)}: {escape(result.error.message)}[/]", soft_wrap=True)


def _exit_unless_succeeded(result: Any, run_dir: Path) -> None:
    """A trial that ended in error or without a submission fails the command (exit 1) with its cause on the
    error line, for schedulers and scripts."""
    if result.status != "success":
        raise TrialFailedError(f"trial {result.run_id} ended {result.status}: {_failure_cause(result, run_dir)}")


def _failure_cause(result: Any, run_dir: Path) -> str:
    if result.error:
        return f"stage {result.error.stage}: {result.error.message.strip().splitlines()[0]}"
    code = result.solve.exit_code if result.solve else None
    ending = f"{result.solve.reason if result.solve else '?'}{f', exit code {code}' if code not in (None, 0) else ''}"
    log = RunPaths(run_dir).output_log
    last = next((line for line in reversed(tail_lines(log, 5)) if re.sub(r"^\[[^\]]*\]", "", line).strip()), "(no output)")  # not a bare time stamp
    return f"the agent left no final_model (it ended {ending}); last line of {log}: {last}"


@app.command()
def status(
    experiment: Annotated[Optional[Path], typer.Argument(help="An experiment file: show its trials, with their jobs' state from the executor.")] = None,
    results: ResultsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show every trial in the results folder and the stage it has reached, or an experiment's trials.

    With an experiment file, each trial is: not submitted, queued, running (the stage it is at, time used),
    finished, failed (where and why), or stopped (its job ended before the trial did: submit again).
    A run directory whose files cannot be read is listed as unreadable, and the command exits 2.

    Examples: `ptb status`, `ptb status --results /shared/ptb --json`, `ptb status row.toml`
    """
    from posttrainbench import api
    from posttrainbench.status import all_states

    if experiment is not None:
        from posttrainbench.executors.submit import plan

        rows = [trial.row() for trial in plan(experiment, results).trials]
        if as_json:
            return _print_json(rows)
        _table("Trials", ["run id", "state", "detail", "job", "accuracy"],
               [[r["run_id"], r["state"], r["detail"], r["job"], r["accuracy"]] for r in rows], whole=("run id",))
        counts = {state: sum(r["state"] == state for r in rows) for state in dict.fromkeys(r["state"] for r in rows)}
        err.print(", ".join(f"{n} {state}" for state, n in counts.items()), soft_wrap=True)
        return
    root = api.results_to_read(results)
    rows, unreadable = all_states(root)
    if as_json:
        _print_json(rows)
    else:
        if not rows:
            err.print(f"no run directories in {escape(str(root))}", soft_wrap=True)
        _table("Trials", ["run id", "agent", "model", "benchmark", "seed", "state", "accuracy"],
               [[r["run_id"], r["agent"], r["model"], r["benchmark"], r["seed"], r["state"], r["accuracy"]] for r in rows],
               whole=("run id",))
    if unreadable:
        more = f" (and {len(unreadable) - 1} more unreadable run directories)" if len(unreadable) > 1 else ""
        raise PtbError(f"{unreadable[0]}{more}")


@app.command()
def submit(
    experiment: Annotated[Path, typer.Argument(help="The experiment file (TOML): agents, models, benchmarks, seeds, hours, executor.")],
    results: Annotated[Optional[Path], typer.Option("--results", help="Results folder (default: the file's `results`, else PTB_RESULTS, else ./results).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be submitted, submit nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Submit an experiment's trials that are not finished and have no queued or running job.

    A trial that already started (killed, preempted) resumes from its last finished stage; a finished one is
    never run again. With the local executor, this stays until every trial has ended, and exits 1 if any of
    them did not finish with a result; Slurm and HTCondor jobs are queued and it returns (`ptb status FILE`).

    Examples: `ptb submit row.toml`, `ptb submit row.toml --dry-run`
    """
    from posttrainbench.executors.submit import plan, submit as submit_experiment

    done, submitted = submit_experiment(experiment, results, say=lambda line: err.print(escape(line), soft_wrap=True), dry_run=dry_run)
    rows = [trial.row() for trial in (done.trials if dry_run else plan(experiment, results).trials)]
    if as_json:
        _print_json(rows)
    if done.executor.name == "local" and not dry_run:  # the trials this submit ran have ended: did they succeed?
        ran = {trial.config.run_id for trial in submitted}
        unfinished = [r for r in rows if r["run_id"] in ran and r["state"] != "finished"]
        if unfinished:
            raise WorkFailedError(f"{len(unfinished)} of {len(ran)} trial(s) did not succeed, e.g. {unfinished[0]['run_id']}: "
                                  f"{unfinished[0]['state']} {unfinished[0]['detail']}".rstrip())


@app.command()
def cancel(
    experiment: Annotated[Path, typer.Argument(help="The experiment file whose queued and running jobs to stop.")],
    results: Annotated[Optional[Path], typer.Option("--results", help="Results folder (default: the file's `results`, else PTB_RESULTS, else ./results).")] = None,
) -> None:
    """Stop an experiment's queued and running jobs. Their trials resume when the experiment is submitted again.

    Example: `ptb cancel row.toml`
    """
    from posttrainbench.executors.submit import cancel as cancel_experiment

    cancel_experiment(experiment, results, say=lambda line: err.print(escape(line), soft_wrap=True))


@app.command()
def audit(
    run_dir: Annotated[Optional[Path], typer.Argument(help="A finished trial's run directory: its audit runs again and is recorded.")] = None,
    workspace: Annotated[Optional[Path], typer.Option("--workspace", help="Audit this folder instead (not made by a trial).")] = None,
    benchmark: Annotated[Optional[str], typer.Option("--benchmark", help="With --workspace: the benchmark whose test items to look for.")] = None,
    base_model: Annotated[Optional[Path], typer.Option("--base-model", help="With --workspace: the base model's folder.")] = None,
    final_model: Annotated[Optional[Path], typer.Option("--final-model", help="With --workspace: the submitted model's folder (default: the workspace's final_model/, where there is one).")] = None,
    instruct_model: Annotated[Optional[Path], typer.Option("--instruct-model", help="With --workspace: the instruct counterpart's folder, to tell substitution from fine-tuning.")] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="With --workspace: the benchmark's test items in its published schema (as for `ptb eval`); default the pinned source.")] = None,
    judge_model: Annotated[Optional[str], typer.Option("--judge-model", help="Also ask this LLM, one role per check, after the deterministic checks (any OpenAI-compatible endpoint).")] = None,
    judge_base_url: Annotated[Optional[str], typer.Option("--judge-base-url", help="The judge's endpoint (default https://api.openai.com/v1).")] = None,
    judge_api_key_env: Annotated[str, typer.Option("--judge-api-key-env", help="Environment variable holding the judge's key.")] = "OPENAI_API_KEY",
    judge_runs: Annotated[int, typer.Option("--judge-runs", help="Judge runs per check; a strict majority decides.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Check a trial for contamination, a disallowed model, tampering and hosted-API use, with evidence.

    Each verdict is clean, flagged or unknown (needs review). A flagged verdict replaces the trial's score by
    the base model's on the leaderboard; `ptb review` records a person's decision. With `--json`, one object
    whose `verdicts` maps each check to its `status` and `evidence` (a list); with a judge, each check's
    evidence holds the judge's votes, reasons and cited files, and `judged` its own decision. Reviews (`ptb review`) show as `audited` and `reviews`.

    Examples: `ptb audit results/<run id>`, `ptb audit --workspace ./ws --benchmark gsm8k --base-model ./base --final-model ./ws/final_model --json`
    """
    from posttrainbench import api
    from posttrainbench.integrity import verdicts_json

    if (run_dir is None) == (workspace is None):
        raise PtbError("give a run directory or --workspace (one of them)")
    judge = api.audit_judge(judge_base_url, judge_model, judge_api_key_env, judge_runs)
    if workspace is not None:
        if benchmark is None or base_model is None:
            raise PtbError("--workspace needs --benchmark and --base-model")
        verdicts = api.audit_workspace(workspace, benchmark, base_model, final_model, instruct_model, data, judge,
                                       progress=lambda line: _progress("audit", line))
        subject = {"workspace": str(workspace), "benchmark": benchmark}
    else:
        if any(value is not None for value in (benchmark, base_model, final_model, instruct_model, data)):
            raise PtbError("--benchmark, --base-model, --final-model, --instruct-model and --data go with --workspace")
        result = api.audit(run_dir, judge, progress=_progress)  # type: ignore[arg-type]
        verdicts = result.verdicts
        subject = {"run_id": result.run_id, "benchmark": result.benchmark}
    if as_json:
        return _print_json({**subject, "verdicts": verdicts_json(verdicts)})
    _show_verdicts(verdicts)


def _show_verdicts(verdicts: list[Any]) -> None:
    for verdict in verdicts:
        colour = {"clean": "green", "flagged": "red"}.get(verdict.status, "yellow")
        out.print(f"[bold]{verdict.check}[/]: [{colour}]{verdict.status}[/]", soft_wrap=True)
        for item in verdict.evidence[:8]:
            where = f" ({item.file}{'' if item.offset is None else f' @ {item.offset}'})" if item.file else ""
            out.print(f"  - {escape(item.rule)}: {escape(item.detail)}{escape(where)}", soft_wrap=True)
        if len(verdict.evidence) > 8:
            out.print(f"  ... {len(verdict.evidence) - 8} more (--json shows all)")
        for item in verdict.reviews:
            out.print(f"  - review: {item.status} by {escape(item.reviewer)} at {item.at}: {escape(item.note)}", soft_wrap=True)


@app.command()
def review(
    run_dir: Annotated[Path, typer.Argument(help="The run directory of an audited trial.")],
    clear: Annotated[Optional[str], typer.Option("--clear", help="Mark this check clean (contamination, disallowed_model, tampering, api_misuse).")] = None,
    flag: Annotated[Optional[str], typer.Option("--flag", help="Mark this check flagged.")] = None,
    note: Annotated[str, typer.Option("--note", help="Why (required); kept with who and when.")] = "",
    reviewer: Annotated[Optional[str], typer.Option("--reviewer", help="Who decides (default: the login name).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a person's decision on one audit verdict; the trial is recorded again with it.

    Every review is kept in the run directory's `reviews.jsonl`, with who, when and why; the latest one of a
    check decides, and the audit's own verdict stays on record.

    Examples: `ptb review results/<run id> --clear contamination --note "the 4 items are GSM8K train duplicates"`,
    `ptb review results/<run id> --flag api_misuse --note "synthetic data from a hosted model"`
    """
    from posttrainbench import api

    if (clear is None) == (flag is None):
        raise PtbError("give --clear CHECK or --flag CHECK (one of them)")
    from posttrainbench.integrity import verdicts_json

    result = api.review(run_dir, clear or flag, "clean" if clear else "flagged", note, reviewer)  # type: ignore[arg-type]
    if as_json:
        return _print_json({"run_id": result.run_id, "benchmark": result.benchmark, "verdicts": verdicts_json(result.verdicts)})
    _show_verdicts(result.verdicts)


@app.command(name="check-data")
def check_data(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of training data (JSONL is checked line by line).")],
    index: Annotated[Path, typer.Option("--index", help="The hashed test n-grams (a trial's workspace has them in .ptb/test_ngrams.npz).")],
    as_json: JsonOpt = False,
) -> None:
    """Find the documents of training data that hold a test item, through hashed n-grams only.

    A trial's workspace runs this as `python check_contamination.py PATH`: the agent can clean its data
    without the test set ever being handed to it. Exits 1 when some document holds a test item, or some
    file could not be read (and so was not checked).

    Example: `ptb check-data data/ --index .ptb/test_ngrams.npz`
    """
    from posttrainbench.integrity.contamination import FOUND_OVERLAP, ItemIndex, check_documents

    for path in [index, *paths]:
        if not path.exists():
            raise PtbError(f"{path} does not exist")
    try:
        loaded = ItemIndex.load(index)
    except ValueError as error:
        raise PtbError(f"{index}: {error}") from None
    if not loaded.keys.size:
        err.print(f"warning: {escape(str(index))} holds no test n-grams: nothing can be found", soft_wrap=True)
    overlaps, documents, skipped = [], 0, []
    for path in paths:
        found, checked = check_documents(loaded, path, skipped)
        overlaps += found
        documents += checked
    if as_json:
        _print_json({"documents": documents, "overlapping": [vars(o) for o in overlaps], "unreadable": skipped})
    else:
        for o in overlaps:
            where = o.file if o.line is None else f"{o.file}:{o.line}"
            out.print(f"{escape(where)}: holds {o.item} ({o.overlap:.0%} of one of its fields)", soft_wrap=True)
        for line in skipped:
            err.print(f"could not read {escape(line)}", soft_wrap=True)
        out.print(f"documents holding a test item: {len(overlaps)} of {documents} checked (a document holds one when it has "
                  f"at least {FOUND_OVERLAP:.0%} of one field of a test item)", soft_wrap=True)
    if skipped:
        raise WorkFailedError(f"{len(skipped)} file(s) could not be read, so they were not checked: {skipped[0]}")
    if overlaps:
        raise typer.Exit(ExitCode.FAILED)


@app.command(name="eval")
def eval_(
    model_path: Annotated[Optional[Path], typer.Option(help="Model directory in Hugging Face format (required unless --settings).")] = None,
    benchmark: Annotated[Optional[str], typer.Option(help="Benchmark id (see `ptb benchmarks`; required unless --settings).")] = None,
    settings_file: Annotated[Optional[Path], typer.Option("--settings", help="Every setting from this JSON file (EvalSettings, as the trial and `ptb baseline` write it); give it with --json-output-file only.")] = None,
    family: Annotated[Optional[str], typer.Option(help="Family of the base model: picks the fixed chat template (default: from config.json).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Evaluate only the first N samples.", min=1)] = None,
    max_tokens: Annotated[Optional[int], typer.Option(help="Token cap (default: the benchmark's first ladder step).", min=1)] = None,
    data: Annotated[Optional[Path], typer.Option(help="Local data in the benchmark's published schema instead of the pinned source.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    backend: Annotated[str, typer.Option(help="auto (vllm where installed with a GPU, else hf), hf or vllm.")] = "auto",
    profile: Annotated[str, typer.Option(help="fast (keeps the backend busy) or upstream (the original's concurrency and memory settings).")] = "fast",
    max_connections: Annotated[Optional[int], typer.Option(help="Concurrent samples and generate calls in Inspect; also caps the hf batch size (default: the profile's).", min=1)] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    repeats: Annotated[int, typer.Option(help="Evaluate N times with seeds SEED, SEED+1, ...: accuracy is the mean, stderr that of the mean; each run's metrics and per-sample scores are kept.", min=1)] = 1,
    judge_base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint of the LLM judge (healthbench, arenahardwriting).")] = None,
    judge_model: Annotated[Optional[str], typer.Option(help="Judge model name.")] = None,
    judge_api_key_env: Annotated[str, typer.Option(help="Environment variable holding the judge's API key.")] = "OPENAI_API_KEY",
    judge_concurrency: Annotated[int, typer.Option(help="Judge requests in flight at once.", min=1)] = 64,
    judge_max_failure_rate: Annotated[float, typer.Option(help="Share of gradings allowed to fail all retries (default 0: any failure fails the evaluation).")] = 0.0,
    few_shot: Annotated[bool, typer.Option("--few-shot", help="Evaluate as the few-shot baseline: plain-text prompts without chat template, solved examples first, temperature 0.6, top-p 0.95.")] = False,
    choice_seed: Annotated[Optional[int], typer.Option(help="GPQA: shuffle the options with this seed (default: a new order each evaluation, as the original; the seed drawn is in the metrics).", min=0)] = None,
    chat_template: Annotated[Optional[str], typer.Option(help=CHAT_TEMPLATE_HELP)] = None,
    json_output_file: Annotated[Optional[Path], typer.Option(help="Write the metrics JSON here.")] = None,
) -> None:
    """Evaluate a model directory on one benchmark with the pristine evaluator.

    Prints the metrics JSON: accuracy, stderr, n, dataset revision, backend, profile, token cap, sampling
    settings, prompt format (with the shots and their source under --few-shot), wall time and tokens
    generated (and judge calls and failures for judged benchmarks).

    Examples:

    - `ptb eval --model-path final_model --benchmark gsm8k --limit 20`
    - `ptb eval --model-path ./ckpt --benchmark humaneval --data HumanEval.jsonl.gz --backend hf`
    - `ptb eval --model-path ./ckpt --benchmark healthbench --judge-base-url http://127.0.0.1:8000/v1 --judge-model m`
    """
    from posttrainbench.evaluation.chat_templates import TEMPLATE_SOURCES
    from posttrainbench.evaluation.eval_settings import EvalSettings, evaluate_settings
    from posttrainbench.evaluation.judge import JudgeSettings
    from posttrainbench.evaluation.runner import check_device
    from posttrainbench.fileio import read_model, write_json_atomic

    if settings_file is not None:
        if model_path is not None or benchmark is not None:
            raise PtbError("--settings holds every setting: give it without --model-path and --benchmark")
        if not settings_file.is_file():
            raise PtbError(f"settings file {settings_file} does not exist")
        settings = read_model(settings_file, EvalSettings)
    else:
        if model_path is None or benchmark is None:
            raise PtbError("ptb eval needs --model-path and --benchmark (or --settings FILE)")
        if not 0 <= judge_max_failure_rate <= 1:
            raise PtbError("--judge-max-failure-rate must be between 0 and 1")
        judge = JudgeSettings.of(judge_base_url, judge_model, api_key_env=judge_api_key_env, concurrency=judge_concurrency,
                                 max_failure_rate=judge_max_failure_rate)
        settings = EvalSettings(model_path=model_path, benchmark=benchmark, family=family, max_tokens=max_tokens, limit=limit,
                                data=data, device=device, backend=backend, profile=profile, max_connections=max_connections,
                                seed=seed, repeats=repeats, few_shot=few_shot, choice_seed=choice_seed,
                                chat_template=check_choice("--chat-template", chat_template, TEMPLATE_SOURCES) if chat_template else None,
                                judge=judge)
    if not settings.model_path.is_dir():
        raise PtbError(f"model path {settings.model_path} does not exist or is not a directory")
    check_device(settings.device)  # before importing the evaluator, which takes seconds
    metrics = evaluate_settings(settings)
    if json_output_file is not None:
        write_json_atomic(json_output_file, metrics)
    _print_json(metrics)


data_app = typer.Typer(help="Fetch and check the pinned evaluation data for offline clusters.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("fetch")
def data_fetch(
    benchmark: Annotated[Optional[list[str]], typer.Option(help="Benchmark id (repeatable; default: all seven).")] = None,
    models: Annotated[bool, typer.Option("--models/--no-models", help="Also download the four base models.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Download the pinned datasets, the original's chat templates (from GitHub) and optionally the base
    models into the HF cache, and write a manifest with revisions and SHA-256 hashes
    ($PTB_DATA/manifest.json). Run where the Hub and GitHub are reachable, with the same HF_HOME the
    cluster's nodes use; GPQA is gated and needs a logged-in account.

    Example: `HF_HOME=/shared/hf ptb data fetch --models`
    """
    from posttrainbench.datafetch import fetch, manifest_path

    manifest = fetch(benchmark, models, progress=lambda line: err.print(f"fetching {line}"))
    if as_json:
        return _print_json(manifest)
    err.print(f"{len(manifest['entries'])} sources fetched; manifest: {manifest_path()}")
    for failure in manifest["failures"]:
        err.print(f"[red]failed[/]: {failure}")
    if manifest["failures"]:
        raise typer.Exit(ExitCode.FAILED)


@data_app.command("verify")
def data_verify(as_json: JsonOpt = False) -> None:
    """Check every fetched file against the manifest's SHA-256; exit 1 on any missing or changed file."""
    from posttrainbench.datafetch import verify

    problems = verify()
    if as_json:
        _print_json({"ok": not problems, "problems": problems})
    else:
        for problem in problems:
            err.print(problem)
        err.print("data verified" if not problems else f"{len(problems)} problem(s)")
    if problems:
        raise typer.Exit(ExitCode.FAILED)


@app.command()
def baseline(
    models: Annotated[list[str], typer.Option("--models", help="Catalog base or instruct model id, or a local model directory (repeatable).")],
    benchmarks: Annotated[Optional[list[str]], typer.Option("--benchmarks", help="Benchmark id (repeatable; default: all seven).")] = None,
    kind: Annotated[Optional[str], typer.Option(help="base_zero_shot, instruct or base_few_shot (same as --few-shot) (default: from the catalog; needed for a local directory).")] = None,
    few_shot: Annotated[bool, typer.Option("--few-shot", help="Evaluate base models as the few-shot baseline (see `ptb eval --few-shot`); stored as base_few_shot.")] = False,
    family: Annotated[Optional[str], typer.Option(help="Family of a local model directory: qwen3, smollm3, gemma3.")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Evaluate only N samples (not comparable; kept in the source).", min=1)] = None,
    max_tokens: Annotated[Optional[int], typer.Option(help="Token cap (default: the benchmark's first ladder step).", min=1)] = None,
    data: Annotated[Optional[Path], typer.Option(help="Local data for a single benchmark instead of the pinned source.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    backend: Annotated[str, typer.Option(help="auto, hf or vllm.")] = "auto",
    results: ResultsOpt = None,
) -> None:
    """Evaluate untouched models with the pristine evaluator and store their scores as baselines.

    Base models' zero-shot scores replace failed or flagged cells of those models in `ptb report`; with
    instruct scores for every benchmark too, the benchmark weights are recomputed from them. Few-shot
    scores (--few-shot) are a reference row only.

    Examples:

    - `ptb baseline --models Qwen/Qwen3-1.7B-Base --models Qwen/Qwen3-1.7B --benchmarks gsm8k`
    - `ptb baseline --models Qwen/Qwen3-4B-Base --few-shot`
    """
    from posttrainbench import api
    from posttrainbench.evaluation.benchmarks import all_benchmarks, get_benchmark
    from posttrainbench.evaluation.backends import BACKENDS
    from posttrainbench.evaluation.runner import check_device
    from posttrainbench.report.baselines import resolve, run_baselines
    from posttrainbench.results.index import BASELINE_KINDS

    if kind is not None and kind not in BASELINE_KINDS:
        raise PtbError(f"unknown --kind {kind!r}; known: {', '.join(BASELINE_KINDS)}")
    if few_shot and kind not in (None, "base_few_shot"):
        raise PtbError(f"--few-shot stores base_few_shot baselines; it cannot be combined with --kind {kind}")
    few_shot = few_shot or kind == "base_few_shot"  # that kind is only ever measured with few-shot prompts
    chosen = benchmarks or [b.id for b in all_benchmarks()]
    for benchmark in chosen:
        get_benchmark(benchmark)
    check_device(device)
    check_choice("--backend", backend, BACKENDS)
    if data is not None and len(chosen) != 1:
        raise PtbError("--data needs exactly one --benchmarks")
    resolved = [resolve(model, family, kind, few_shot) for model in models]
    common = {"device": device, "backend": backend, "few_shot": few_shot, "limit": limit, "max_tokens": max_tokens,
              "data": data.resolve() if data is not None else None}
    root = api.results_root(results)
    stored, failures = run_baselines(resolved, chosen, root, common, progress=lambda line: err.print(line))
    _table("Baselines", ["model", "benchmark", "kind", "score"], [[b.model, b.benchmark, b.kind, f"{100 * b.score:.1f}"] for b in stored])
    for failure in failures:
        err.print(f"[red]failed[/]: {failure}")
    if failures:
        raise typer.Exit(ExitCode.FAILED)


export_app = typer.Typer(help="Write ptb's tasks in other harnesses' formats.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("harbor")
def export_harbor(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the task folders into (created; a task folder already there is replaced).")],
    model: Annotated[Optional[list[str]], typer.Option("--model", help="Base model id (repeatable; default: the four).")] = None,
    benchmark: Annotated[Optional[list[str]], typer.Option("--benchmark", help="Benchmark id (repeatable; default: all seven).")] = None,
    hours: Annotated[float, typer.Option(help="The agent's time budget: its timeout and the clock timer.sh reads.")] = 10.0,
    gpus: Annotated[int, typer.Option(help="GPUs of the agent's and the verifier's environments.", min=1)] = 1,
    gpu_type: Annotated[str, typer.Option(help="Harbor gpu_types entry (e.g. H100, or H100! on Modal to forbid an upgrade).")] = "H100",
    cpus: Annotated[int, typer.Option(help="CPUs of each environment.", min=1)] = 16,
    memory_mb: Annotated[int, typer.Option(help="Memory of each environment, MB.", min=1)] = 131072,
    storage_mb: Annotated[int, typer.Option(help="Disk of each environment, MB.", min=1)] = 409600,
    evaluation_hours: Annotated[float, typer.Option(help="The verifier's timeout: evaluation and audit.")] = 3.0,
) -> None:
    """Write one Harbor task per (base model, benchmark): task.toml, instruction.md, the agent's environment,
    and a separate verifier that grades with ptb's own evaluation and audit.

    Needs ptb's source checkout (the task images install ptb from it).

    Examples: `ptb export harbor --out harbor-tasks`, `ptb export harbor --out t --model Qwen/Qwen3-1.7B-Base --benchmark gsm8k --hours 2`
    """
    from posttrainbench.catalog import all_models
    from posttrainbench.evaluation.benchmarks import all_benchmarks
    from posttrainbench.executors.harbor import export

    written = export(out, model or [m.id for m in all_models()], benchmark or [b.id for b in all_benchmarks()], hours=hours, gpus=gpus,
                     gpu_type=gpu_type, cpus=cpus, memory_mb=memory_mb, storage_mb=storage_mb, evaluation_hours=evaluation_hours,
                     say=lambda line: err.print(escape(line), soft_wrap=True))
    err.print(f"{len(written)} Harbor task(s) in {escape(str(out))}; run one with `harbor run -p {escape(shlex.quote(str(written[0])))} -a claude-code -m MODEL -e modal`",
              soft_wrap=True)


import_app = typer.Typer(help="Import results of other harnesses, to re-score them here.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("upstream")
def import_upstream(
    source: Annotated[Path, typer.Argument(help="A results tree in the original PostTrainBench layout (method folders).")],
    results: ResultsOpt = None,
    label_map: Annotated[Optional[Path], typer.Option(help="A JSON object mapping method folder names to row labels (groups seeds under one label).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import the original's results: method folders `<agent>_<config>_<hours>h<suffix>` holding run folders
    `<task>_<Org>_<Model>_<id>` (metrics.json, time_taken.txt, the two judgement files), and the
    `baseline_zeroshot` method as baselines. `_run<N>`/`_seed<N>` in a method name is its seed.

    Example: `ptb import upstream /data/ptb-results --results results && ptb report --results results`
    """
    from posttrainbench import api
    from posttrainbench.importers.upstream import import_upstream as run_import

    mapping: dict[str, str] = {}
    if label_map is not None:
        try:
            mapping = json.loads(label_map.read_text())
        except (OSError, ValueError) as error:
            raise PtbError(f"--label-map {label_map}: {error}") from None
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise PtbError(f"--label-map {label_map}: expected a JSON object of method folder -> label")
    if not source.expanduser().is_dir():  # before the results folder is created: a typo leaves nothing behind
        raise PtbError(f"{source} is not a directory")
    root = api.results_root(results)
    report = run_import(source.expanduser(), root, mapping)
    if as_json:
        return _print_json(report.to_dict())
    err.print(f"imported {report.trials} trials from {len(report.methods)} methods and {report.baselines} baselines into {root}")
    for skipped in report.skipped:
        err.print(f"[yellow]skipped[/] {skipped}")


@app.command()
def report(
    results: ResultsOpt = None,
    format: Annotated[str, typer.Option("--format", help="md, csv, json, or html (a static folder that works offline).")] = "md",
    out: Annotated[Optional[Path], typer.Option(help="Folder for --format html (default: the results folder's report/).")] = None,
    published: Annotated[bool, typer.Option("--published", help="Add the original's published reference rows (instruct, base).")] = False,
) -> None:
    """Print the leaderboard of the indexed trials and stored baselines, or write it as an HTML report.

    Each row is a label: per seed, the mean over base models of the weighted sum over the seven benchmarks;
    a missing, failed or flagged cell takes the base model's zero-shot baseline and is counted as a marker.

    Examples: `ptb report`, `ptb report --format csv > board.csv`, `ptb report --format html --out site/`
    """
    from posttrainbench import api
    from posttrainbench.report import build, html_folder, write_html
    from posttrainbench.report.tables import FORMATS

    if format not in (*FORMATS, "html"):
        raise PtbError(f"unknown format {format!r}; known: {', '.join(FORMATS)}, html")
    root = api.results_to_read(results)
    if format == "html":
        html_folder(root, out)  # a bad --out fails before any other message
    rows, weights = build(root, published=published)
    if not rows:
        err.print(f"no trials or baselines indexed in {escape(str(root))} (`ptb run`, `ptb baseline` or `ptb import upstream` add some)")
    if format != "html":
        sys.stdout.write(FORMATS[format](rows, weights))
        return
    index_page = write_html(root, rows, weights, out)
    err.print(f"HTML report: {escape(str(index_page))} ({len(rows)} rows; open it from disk, it needs no server)")
    typer.echo(str(index_page))


@app.command()
def doctor(as_json: JsonOpt = False) -> None:
    """Check what is installed and usable here: sandbox, GPUs, agent CLIs, extras, HF cache."""
    from posttrainbench.doctor import checks

    rows = checks()
    if as_json:
        return _print_json(rows)
    _table("ptb doctor", ["check", "ok", "detail"], [[r["check"], "yes" if r["ok"] else "NO", r["detail"]] for r in rows])


@app.command()
def quickstart(
    directory: Annotated[Path, typer.Option("--dir", help="Where the tiny model, demo data and results go.")] = Path("ptb-quickstart"),
    sandbox: Annotated[str, typer.Option(help="auto (bubblewrap when it works, else none, loudly), bubblewrap or none.")] = "auto",
    train_steps: Annotated[Optional[int], typer.Option(help="Training steps of the reference agent (default 400, about two minutes); fewer for a smoke test.", min=1)] = None,
) -> None:
    """A whole trial on a tiny model built here, on the CPU, with no keys: the reference agent fine-tunes it
    for a few minutes on a demo task. Then the score before and after, the leaderboard, the HTML report,
    where the results are and the commands to look at them. Exits 1 when the trial does not succeed.

    Example: `ptb quickstart`
    """
    from posttrainbench.quickstart import quickstart as run_quickstart

    outcome = run_quickstart(directory, sandbox, progress=_progress, say=lambda line: err.print(line, soft_wrap=True), train_steps=train_steps)
    _show_result(outcome.result, False)
    after = outcome.result.accuracy
    sys.stdout.write(f"\nscore before training: {outcome.before:.2f}; after: {after if after is None else f'{after:.2f}'}\n")
    sys.stdout.write("\n" + outcome.board + "\n" + outcome.where())  # plain: paths are never wrapped
    _exit_unless_succeeded(outcome.result, outcome.run_dir)


def _usage_error_types() -> tuple[type[Exception], ...]:
    """Click's usage errors, from every copy of click typer may use: typer >= 0.17 bundles its own
    (``typer._click``), older typers use the click package."""
    types: list[type[Exception]] = []
    try:
        from typer._click.exceptions import ClickException as BundledClickException

        types.append(BundledClickException)
    except ImportError:
        pass
    try:
        from click import ClickException

        types.append(ClickException)
    except ImportError:
        pass
    return tuple(types)


def _abort_types() -> tuple[type[BaseException], ...]:
    """Click's Abort (Ctrl-C or end of input at a prompt), from every copy of click."""
    types: list[type[BaseException]] = [typer.Abort]
    try:
        from click.exceptions import Abort

        types.append(Abort)
    except ImportError:
        pass
    return tuple(types)


def _usage_line(error: Exception) -> str:
    """A click usage error as one line: the cause, then where to read the usage."""
    message = error.format_message().strip().rstrip(".")  # type: ignore[attr-defined]
    ctx = getattr(error, "ctx", None)
    return f"{message} (see '{ctx.command_path} --help')" if ctx is not None else message


def _fail(message: str, code: int) -> NoReturn:
    """The error as the last line on stderr (plain, never wrapped), where scripts and the evaluation ladder
    read it; a message with more lines (a bug: messages are one line) keeps them above it, not lost."""
    summary, *details = message.strip().splitlines() or [""]
    for line in details:
        sys.stderr.write(line + "\n")
    sys.stderr.write(f"{ERROR_PREFIX}{summary}\n")
    sys.exit(code)


def _interrupted() -> NoReturn:
    sys.stderr.write("ptb: interrupted\n")
    sys.exit(ExitCode.INTERRUPTED)


def main() -> None:
    """Entry point: one line on stderr for user errors; tracebacks for bugs (and with PTB_DEBUG=1).

    The exit codes are ``ExitCode``'s (errors.py): this is the one place that maps failures to them.
    """
    usage_errors = _usage_error_types()
    if not sys.stdout.isatty():
        os.environ.setdefault("COLUMNS", "160")  # help rendered at 80 columns cut long option names
    try:
        code = app(standalone_mode=False, prog_name="ptb")  # click returns typer.Exit's code instead of raising
    except PtbError as error:
        if settings.debug():
            raise
        _fail(str(error), error.exit_code)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except (KeyboardInterrupt, *_abort_types()):
        _interrupted()
    except ModuleNotFoundError as error:
        missing = missing_extra(error)
        if missing is None or settings.debug():
            raise
        _fail(str(missing), missing.exit_code)
    except usage_errors as error:
        if type(error).__name__ == "NoArgsIsHelpError":
            sys.exit(ExitCode.USAGE)  # the help is already printed: it is the answer to a bare `ptb`
        if settings.debug():
            raise
        _fail(_usage_line(error), ExitCode.USAGE)
    if code == ExitCode.INTERRUPTED:  # typer returns Ctrl-C as the code 130
        _interrupted()
    if isinstance(code, int) and code:
        sys.exit(code)
