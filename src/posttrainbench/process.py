"""Run a command under a hard deadline, timestamping every output line; kill the whole tree at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from posttrainbench.fileio import iso_now

ExitReason = Literal["normal", "timeout", "signal", "error", "interrupted"]


@dataclass
class ExitInfo:
    """How a process ended."""

    reason: ExitReason
    exit_code: int | None
    signal: str | None
    wall_seconds: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def classify(returncode: int, timed_out: bool, wall_seconds: float) -> ExitInfo:
    if timed_out:
        return ExitInfo("timeout", returncode, None, wall_seconds)
    if returncode == 0:
        return ExitInfo("normal", 0, None, wall_seconds)
    signum = -returncode if returncode < 0 else returncode - 128 if returncode > 128 else None
    if signum is not None and 0 < signum < 65:
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"SIG{signum}"
        return ExitInfo("signal", returncode, name, wall_seconds)
    return ExitInfo("error", returncode, None, wall_seconds)


def descendants(pid: int) -> list[int]:
    """All live descendants of ``pid`` (read from /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _signal_tree(proc: subprocess.Popen[bytes], sig: int) -> None:
    # The process group catches most of the tree; the /proc walk catches children that left it (setsid).
    targets = descendants(proc.pid)
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    for pid in targets:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _pump(stream, log: Path, redact: Sequence[str]) -> None:  # type: ignore[no-untyped-def]
    secrets = [secret.encode() for secret in redact if secret]
    with open(log, "ab") as out:
        for line in iter(stream.readline, b""):
            for secret in secrets:  # a credential the process printed never reaches the disk
                line = line.replace(secret, b"[redacted]")
            out.write(f"[{iso_now()}] ".encode() + line.rstrip(b"\n") + b"\n")
            out.flush()


def run_with_deadline(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    log: Path,
    deadline: float,
    kill_after: float = 30.0,
    redact: Sequence[str] = (),
) -> ExitInfo:
    """Run ``argv`` until it exits or ``deadline`` (epoch seconds) passes; then TERM, and KILL after ``kill_after``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    pump = threading.Thread(target=_pump, args=(proc.stdout, log, redact), daemon=True)
    pump.start()
    timed_out = False
    try:
        proc.wait(timeout=max(0.0, deadline - time.time()))
    except subprocess.TimeoutExpired:
        timed_out = True
        _signal_tree(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            pass
    finally:
        # Whatever happened, nothing the command started may outlive it.
        _signal_tree(proc, signal.SIGKILL)
        proc.wait()
    pump.join(timeout=5)
    return classify(proc.returncode, timed_out, time.monotonic() - started)
