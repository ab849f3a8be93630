"""``ptb quickstart``: build a tiny model and demo data, run one whole trial on the CPU, print the board."""

from __future__ import annotations

import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posttrainbench import api
from posttrainbench.config import EvalOverrides
from posttrainbench.report import build, write_html
from posttrainbench.report.tables import to_markdown
from posttrainbench.results.schema import Result
from posttrainbench.sandbox import get_sandbox
from posttrainbench.sandbox.none import WARNING
from posttrainbench.trial import ProgressFn


def pick_sandbox(choice: str, say: Callable[[str], Any]) -> str:
    if choice != "auto":
        return choice
    problem = get_sandbox("bubblewrap").problem()
    if problem is None:
        return "bubblewrap"
    say(f"[bold red]bubblewrap is not usable here ({problem}). {WARNING}[/]")
    return "none"


@dataclass(frozen=True)
class Outcome:
    """What the quickstart produced, and where it lies."""

    result: Result
    results: Path
    """The results folder (its own, not the default ``./results``)."""
    run_dir: Path
    board: str
    """The leaderboard as markdown."""
    report: Path
    """The HTML report's index.html."""
    before: float
    """The untouched model's score on the same evaluation."""

    def where(self) -> str:
        """Where the results are and the exact commands to look at them (paths quoted for the shell)."""
        folder = shlex.quote(str(self.results))
        ptb = ptb_command()
        return "\n".join([
            f"results:     {self.results}",
            f"run:         {self.run_dir}",
            f"HTML report: {self.report}  (open it in a browser, from disk)",
            "look at them with:",
            f"  {ptb} report --results {folder}",
            f"  {ptb} status --results {folder}",
            f"  {ptb} report --results {folder} --format html",
        ]) + "\n"


def ptb_command() -> str:
    """How to call this very ``ptb`` from a shell: plain ``ptb`` when that is what $PATH finds, else the path of
    the one next to this interpreter (a virtual environment that is not activated, as in the README)."""
    beside = Path(sys.executable).parent / "ptb"
    on_path = shutil.which("ptb")
    if not beside.is_file() or (on_path is not None and Path(on_path).resolve() == beside.resolve()):
        return "ptb"
    return shlex.quote(str(beside))


QUICKSTART_INIT = 0.25
"""The tiny model's weight scale: large enough that a few minutes of fine-tuning stay a fine-tune for the
audit's lineage check (see ``build_tiny_qwen3``)."""
TRAINING = {"max_steps": 400, "batch_size": 8, "max_length": 1024, "learning_rate": 1e-3}
"""The reference agent's settings for the tiny model: about three minutes of training on two CPU cores."""
EVALUATION = EvalOverrides(max_tokens=[32], chat_template="project")


def quickstart(directory: Path, sandbox: str, progress: ProgressFn, say: Callable[[str], Any], train_steps: int | None = None) -> Outcome:
    """Build a tiny model and the demo data, score the untouched model, run a whole trial in which the
    reference agent fine-tunes it, and score again: a trial that worked shows a different score."""
    from posttrainbench.tiny import build_tiny_qwen3, write_demo_facts

    directory = directory.expanduser().resolve()
    model_dir = directory / "tiny-qwen3"
    if not (model_dir / "config.json").is_file():
        say(f"building a tiny Qwen3 model in {model_dir}")
        build_tiny_qwen3(model_dir, initializer_range=QUICKSTART_INIT)
    data, training = write_demo_facts(directory / "demo-benchmark", directory / "demo-training")
    evaluation = EVALUATION.model_copy(update={"data": str(data)})
    before = score_untouched(model_dir, evaluation)
    say(f"score of the untouched model: {before:.2f} (the demo benchmark's 16 questions)")
    config = api.make_config(
        agent="reference", agent_args={"data": str(training), **TRAINING, **({"max_steps": train_steps} if train_steps else {})}, model=str(model_dir), family="qwen3",
        benchmark="gsm8k", hours=0.15, sandbox=pick_sandbox(sandbox, say), device="cpu", label="reference (quickstart)",
        evaluation=evaluation, grace_minutes=1,
    )
    results = api.results_root(directory / "results")
    say(f"run directory: {results / config.run_id}")
    result = api.run(config, results, progress=progress)
    rows, weights = build(results)
    return Outcome(result, results, results / config.run_id, to_markdown(rows, weights), write_html(results, rows, weights), before)


def score_untouched(model: Path, evaluation: EvalOverrides) -> float:
    """The base model's score with the trial's own evaluation settings."""
    from posttrainbench.evaluation.eval_settings import EvalSettings, evaluate_settings

    settings = EvalSettings(model_path=model, benchmark="gsm8k", family="qwen3", max_tokens=(evaluation.max_tokens or [None])[0],
                            limit=evaluation.limit, data=Path(evaluation.data) if evaluation.data else None, device="cpu",
                            chat_template=evaluation.chat_template)
    return float(evaluate_settings(settings)["accuracy"])
