"""Every error the user should see as one plain line (no traceback) lives here.

Anything that is not a ``PtbError`` is a bug in ptb and keeps its traceback.
"""

from __future__ import annotations


class PtbError(Exception):
    """Bad input or a bad environment: printed as one line, exit code 2."""

    exit_code = 2


class UnknownNameError(PtbError, LookupError):
    """A name (benchmark, model, agent, sandbox) that no registry knows."""

    def __init__(self, kind: str, name: str, known: list[str]):
        self.kind, self.name, self.known = kind, name, known
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(sorted(known))}")


class ModelNotFoundError(PtbError, FileNotFoundError):
    """A base model that is neither in the HF cache nor a local directory."""


class SandboxUnavailableError(PtbError):
    """The chosen sandbox cannot run on this machine."""


class StageError(PtbError):
    """A trial stage failed in a way that stops the trial (recorded in result.json)."""

    def __init__(self, stage: str, message: str):
        self.stage = stage
        super().__init__(f"stage {stage} failed: {message}")


class EvaluationError(PtbError):
    """The evaluator could not produce valid metrics."""
