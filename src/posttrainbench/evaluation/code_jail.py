"""Run untrusted model-written Python (HumanEval completions) without network and without write access.

With bubblewrap working, the program runs in fresh namespaces with the host filesystem read-only, an
empty /tmp and no network. Where bubblewrap cannot start (some containers), it runs as a plain
subprocess in a temporary directory, like the original's "local" sandbox, and ``mode()`` says so.
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

JAIL = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--chdir", "/tmp",
        "--unshare-all", "--die-with-parent", "--new-session"]


@functools.cache
def mode() -> str:
    """``bubblewrap`` when the jail starts here, else ``subprocess``."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "subprocess"
    try:
        proc = subprocess.run([bwrap, *JAIL, "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "subprocess"
    return "bubblewrap" if proc.returncode == 0 else "subprocess"


def _argv(program: str) -> list[str]:
    python = [sys.executable, "-c", program]
    return [shutil.which("bwrap") or "bwrap", *JAIL, *python] if mode() == "bubblewrap" else python


async def run_python(program: str, timeout_s: float) -> tuple[bool, str]:
    """Run ``program``; return (exited 0 within the timeout, stderr or a reason)."""
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
    return proc.returncode == 0, stderr.decode(errors="replace")
