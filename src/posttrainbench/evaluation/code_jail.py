"""Run untrusted model-written Python (HumanEval completions) without network and without write access.

With bubblewrap working, the program runs in fresh namespaces with the host filesystem read-only, empty
/tmp and /var/tmp, home directories and credentials hidden, kernel settings read-only and no network; the
interpreter and its environment stay reachable wherever they live (a virtual environment under /tmp, say).
Where bubblewrap cannot start at all (some containers), the program runs as a plain subprocess in a
temporary directory, like the original's "local" sandbox, and ``mode()`` says so. A jail that starts but
cannot run the interpreter is an error of the evaluation, never a failed sample.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import shutil
import subprocess
import sys
import tempfile

from posttrainbench.errors import EvaluationError
from posttrainbench.sandbox.bubblewrap import kernel_interfaces
from posttrainbench.sandbox.host import PRIVATE_TMP, kept_under, private_paths, to_hide

NAMESPACES = ["--unshare-all", "--die-with-parent", "--new-session"]


class CodeJailError(EvaluationError):
    """The jail could not run the checking program at all: no sample can be scored."""


@functools.cache
def jail_arguments() -> list[str]:
    """bwrap arguments: the host read-only, private temporary folders, private files hidden, runtime kept."""
    hidden = to_hide(private_paths())
    kept = kept_under([*PRIVATE_TMP, *hidden])
    layers = sorted([(path, 0) for path in (*PRIVATE_TMP, *hidden)] + [(path, 1) for path in kept],
                    key=lambda item: (len(item[0].parts), item[1]))
    args = ["--ro-bind", "/", "/", *kernel_interfaces(), "--dev", "/dev"]
    for path, keep in layers:
        if keep:
            args += ["--ro-bind", str(path), str(path)]
        elif path.is_dir():
            args += ["--tmpfs", str(path)]
        elif path.exists():
            args += ["--ro-bind", "/dev/null", str(path)]
    return [*args, "--chdir", "/tmp", *NAMESPACES]


@functools.cache
def mode() -> str:
    """``bubblewrap`` when the jail starts here, else ``subprocess``."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "subprocess"
    try:
        proc = subprocess.run([bwrap, *jail_arguments(), "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "subprocess"
    return "bubblewrap" if proc.returncode == 0 else "subprocess"


def _argv(program: str) -> list[str]:
    python = [sys.executable, "-c", program]
    return [shutil.which("bwrap") or "bwrap", *jail_arguments(), *python] if mode() == "bubblewrap" else python


@functools.cache
def check_interpreter() -> None:
    """Raise ``CodeJailError`` with the reason when the jail cannot start this interpreter."""
    proc = subprocess.run(_argv("import sys; sys.exit(0)"), capture_output=True, text=True, timeout=60,
                          cwd=tempfile.gettempdir(), stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise CodeJailError(f"the HumanEval code jail ({mode()}) cannot run {sys.executable}: {reason}")


async def run_python(program: str, timeout_s: float) -> tuple[bool, str]:
    """Run ``program``; return (exited 0 within the timeout, stderr or a reason)."""
    check_interpreter()
    with tempfile.TemporaryDirectory(prefix="ptb-code-") as cwd:
        proc = await asyncio.create_subprocess_exec(
            *_argv(program), cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )
        try:
            _, stderr = await asyncio.wait_for(proc.communicate(), timeout_s)
        except asyncio.TimeoutError:
            os.killpg(proc.pid, signal.SIGKILL)  # the program may have forked; its session goes with it
            await proc.wait()
            return False, "Verification timed out."
    detail = stderr.decode(errors="replace")
    if proc.returncode != 0 and mode() == "bubblewrap" and detail.startswith("bwrap: "):
        raise CodeJailError(f"the HumanEval code jail failed: {detail.strip().splitlines()[0]}")
    return proc.returncode == 0, detail
