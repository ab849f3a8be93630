"""Every error the user should see as one plain line (no traceback) lives here, with the exit codes.

Anything that is not a ``PtbError`` is a bug in ptb and keeps its traceback.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """What the ``ptb`` process's exit status means: the one contract for every command."""

    SUCCESS = 0
    FAILED = 1
    """The work was done but did not succeed: a trial that ended in error or without a submission, a failed
    evaluation, fetch or baseline; also a crash of ptb itself (with a traceback)."""
    USAGE = 2
    """Bad input or a bad environment: unknown option or name, missing file, missing extra, corrupt results."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C (SIGINT)."""


EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 the work failed (a trial that did not succeed, a failed evaluation); "
    "2 bad input or usage (one line on stderr); 130 interrupted."
)


ERROR_PREFIX = "ptb: error: "
"""How every error line of ptb begins (on stderr, the last line): scripts and the evaluation ladder look for it."""

OPTIONAL_MODULES = {
    **dict.fromkeys(("inspect_ai", "inspect_evals", "torch", "transformers", "accelerate", "tokenizers", "datasets",
                     "httpx", "numpy", "pyarrow", "trl", "peft"), "hf"),
    "vllm": "vllm",
    "htcondor2": "htcondor",
}
"""Top-level modules of the optional extras (pyproject.toml), by the extra that installs them."""


class PtbError(Exception):
    """Bad input or a bad environment: printed as one line, exit code 2."""

    exit_code = ExitCode.USAGE


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

    def __init__(self, stage: str, message: str, log: Path | None = None):
        self.stage = stage
        self.reason = message
        self.log = log
        """The log that explains the failure, where there is one."""
        super().__init__(f"stage {stage} failed: {message}")


class TrialFailedError(PtbError):
    """A trial that ended in error or without a submission: the work failed, not the input (exit code 1)."""

    exit_code = ExitCode.FAILED


class WorkFailedError(PtbError):
    """The command ran on good input but could not do all of its work (exit code 1)."""

    exit_code = ExitCode.FAILED


class EvaluationError(PtbError):
    """The evaluator could not produce valid metrics: the work failed, not the input (exit code 1)."""

    exit_code = ExitCode.FAILED


class CorruptFileError(PtbError):
    """A file ptb wrote earlier (result, config, stage marker, index) that cannot be read back."""

    def __init__(self, path: object, cause: object):
        self.path = path
        super().__init__(f"cannot read {path}: {one_line(cause)}")


def one_line(cause: object) -> str:
    """An exception (or any text) as one line that names the cause, for messages that must stay one line."""
    errors = getattr(cause, "errors", None)
    if callable(errors):  # a pydantic ValidationError: its first line only names the model, not the field
        found = errors()
        if found:
            where = ".".join(str(part) for part in found[0]["loc"]) or "value"
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            return f"{where}: {found[0]['msg']}{more}"
    text = str(cause).strip()
    return text.splitlines()[0] if text else type(cause).__name__


class MissingExtraError(PtbError):
    """A command needs an optional extra that is not installed."""

    def __init__(self, module: str, extra: str):
        super().__init__(f"this command needs the [{extra}] extra (no module named {module!r}): pip install 'posttrainbench[{extra}]'")


def missing_extra(error: ModuleNotFoundError) -> MissingExtraError | None:
    """The user-facing error for an import of an optional extra's module that is not installed, else None (a bug)."""
    top = (error.name or "").split(".")[0]
    return MissingExtraError(top, OPTIONAL_MODULES[top]) if top in OPTIONAL_MODULES else None


def check_choice(flag: str, value: str, known: tuple[str, ...]) -> str:
    """``value`` if it is one of ``known``, else a one-line error naming the flag and the choices."""
    if value not in known:
        raise PtbError(f"unknown {flag} {value!r}; known: {', '.join(known)}")
    return value
