import os
import time
from pathlib import Path

from posttrainbench.process import classify, run_with_deadline

STUBBORN = """
trap '' TERM
(trap '' TERM; echo $BASHPID >> {pids}; exec sleep 1000) &
setsid bash -c 'trap "" TERM; echo $$ >> {pids}; exec sleep 1000' &
echo $$ >> {pids}
echo started
wait
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_deadline_kills_a_tree_that_ignores_sigterm(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    log = tmp_path / "out.log"
    started = time.monotonic()
    info = run_with_deadline(
        ["bash", "-c", STUBBORN.format(pids=pids_file)], env=dict(os.environ), cwd=tmp_path, log=log,
        deadline=time.time() + 1.5, kill_after=1.0,
    )
    assert info.reason == "timeout"
    assert time.monotonic() - started < 10
    pids = [int(p) for p in pids_file.read_text().split()]
    assert len(pids) == 3
    time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids), "a process survived the deadline"
    line = log.read_text().splitlines()[0]
    assert line.startswith("[20") and line.endswith("Z] started")


def test_exit_classification() -> None:
    assert classify(0, False, 1.0).reason == "normal"
    assert classify(3, False, 1.0).reason == "error"
    killed = classify(-9, False, 1.0)
    assert (killed.reason, killed.signal) == ("signal", "SIGKILL")
    assert classify(137, False, 1.0).signal == "SIGKILL"
    assert classify(-15, True, 1.0).reason == "timeout"
