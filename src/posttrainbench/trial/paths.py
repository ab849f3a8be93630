"""``RunPaths`` is the only code that knows the file names inside a run directory.

::

    <run_dir>/
      config.json            the trial's resolved configuration (what resume rebuilds from)
      trial.lock             locked while a process runs the trial (ptb run, resume, audit)
      job.json               the latest job an executor submitted for it (ptb submit)
      job.sbatch, slurm-<id>.log   the Slurm job script and its output (slurm executor)
      job.sub, condor-<id>.out/.err, condor.log   the HTCondor submit description, output and event log
      job.log                the trial's output under the local executor
      result.json            the record of the trial (written by stage record, atomically)
      stages/<stage>.json    done-marker of each finished stage, with its outputs (written last)
      stages/<stage>.started.json  when each stage began
      stages/failure.json    the stage that failed and why (until a resume runs it again)
      prompt.txt             the prompt the agent received
      manifest.json          sha256 of every file the harness placed in the workspace
      workspace/             the agent's working directory; weight files are pruned after collect
        final_model/         where the agent leaves its model (moved out by collect)
      agent/output.log       the agent's stdout+stderr, one UTC timestamp per line
      agent/prompt.txt       copy of the prompt handed to the agent as a file
      agent/events.jsonl     the agent's trace as common events (agents with a trace parser)
      agent/transcript.txt   the same trace as readable text
      agent/judge_proxy.jsonl  every request the agent sent to the judge proxy (judged benchmarks), forwarded or refused
      monitor.jsonl          CPU / memory / disk / GPU samples taken during solve
      hf_cache_added/        what the agent added to the HF cache (bubblewrap), kept for the audit; weights pruned
      final_model/           the model the agent left in workspace/final_model
      audit.json             integrity verdicts with their evidence (stage audit; `ptb audit` re-runs it)
      reviews.jsonl          human decisions on verdicts (`ptb review`), oldest first
      evaluation/            per evaluation attempt: settings-<k>.json (what it was asked), attempt-<k>.log,
                             metrics-<k>.json; attempts.jsonl
      metrics.json           metrics of the successful evaluation attempt
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

STAGES = ("prepare", "preflight", "solve", "collect", "audit", "evaluate", "record")


@dataclass(frozen=True)
class RunPaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def lock(self) -> Path:
        return self.root / "trial.lock"

    @property
    def job(self) -> Path:
        return self.root / "job.json"

    def job_file(self, name: str) -> Path:
        """An executor's file: ``job.log`` (local), ``job.sbatch`` (slurm), ``job.sub`` (htcondor)."""
        assert name in ("job.log", "job.sbatch", "job.sub"), name
        return self.root / name

    @property
    def result(self) -> Path:
        return self.root / "result.json"

    @property
    def stages_dir(self) -> Path:
        return self.root / "stages"

    def stage_marker(self, stage: str) -> Path:
        return self.stages_dir / f"{stage}.json"

    def stage_started(self, stage: str) -> Path:
        return self.stages_dir / f"{stage}.started.json"

    @property
    def failure(self) -> Path:
        return self.stages_dir / "failure.json"

    @property
    def prompt(self) -> Path:
        return self.root / "prompt.txt"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    @property
    def submission(self) -> Path:
        """Where the agent leaves its model, inside the workspace."""
        return self.workspace / "final_model"

    @property
    def agent_dir(self) -> Path:
        return self.root / "agent"

    @property
    def output_log(self) -> Path:
        return self.agent_dir / "output.log"

    @property
    def agent_prompt(self) -> Path:
        return self.agent_dir / "prompt.txt"

    @property
    def events(self) -> Path:
        return self.agent_dir / "events.jsonl"

    @property
    def transcript(self) -> Path:
        return self.agent_dir / "transcript.txt"

    @property
    def judge_proxy(self) -> Path:
        return self.agent_dir / "judge_proxy.jsonl"

    @property
    def monitor(self) -> Path:
        return self.root / "monitor.jsonl"

    @property
    def hf_cache_added(self) -> Path:
        return self.root / "hf_cache_added"

    @property
    def final_model(self) -> Path:
        return self.root / "final_model"

    @property
    def audit(self) -> Path:
        return self.root / "audit.json"

    @property
    def reviews(self) -> Path:
        return self.root / "reviews.jsonl"

    @property
    def evaluation_dir(self) -> Path:
        return self.root / "evaluation"

    def attempt_log(self, attempt: int) -> Path:
        return self.evaluation_dir / f"attempt-{attempt}.log"

    def attempt_settings(self, attempt: int) -> Path:
        return self.evaluation_dir / f"settings-{attempt}.json"

    def attempt_metrics(self, attempt: int) -> Path:
        return self.evaluation_dir / f"metrics-{attempt}.json"

    @property
    def attempts(self) -> Path:
        return self.evaluation_dir / "attempts.jsonl"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    def named(self, path: Path) -> bool:
        """Whether ``path`` (inside the run directory) is one of the files named here, or lies in one of the
        folders whose contents belong to others (the agent's workspace, its model)."""
        relative = path.relative_to(self.root).as_posix()
        files = {self.config, self.result, self.failure, self.prompt, self.manifest, self.output_log, self.agent_prompt,
                 self.events, self.transcript, self.judge_proxy, self.monitor, self.audit, self.reviews, self.attempts, self.metrics,
                 self.lock, self.job, *(self.job_file(name) for name in ("job.log", "job.sbatch", "job.sub"))}
        patterns = [re.escape(p.relative_to(self.root).as_posix()) for p in files]
        patterns += [rf"stages/({'|'.join(STAGES)})(\.started)?\.json", r"evaluation/attempt-\d+\.log",
                     r"evaluation/(metrics|settings)-\d+\.json", r"(workspace|final_model|hf_cache_added)/.+",
                     r"slurm-\d+\.log", r"condor-\d+\.(out|err)", r"condor\.log"]  # the engines' own output
        return re.fullmatch("|".join(patterns), relative) is not None
