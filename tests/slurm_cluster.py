"""A real single-node Slurm cluster on loopback for the executor tests: slurmctld and slurmd from Debian's
slurm-wlm (installed by .ci/run), in a temporary folder, with two fake GPUs.

Authentication is ``auth/none`` (no munge daemon: one machine, one user). The GPUs are character devices
made with mknod (copies of /dev/null), which is enough for Slurm's GRES plugin to hand each job its own
``CUDA_VISIBLE_DEVICES``. Every Slurm command finds this cluster through ``SLURM_CONF``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def problem() -> str | None:
    """Why no cluster can start here, or None."""
    missing = [tool for tool in ("slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol") if shutil.which(tool) is None]
    if missing:
        return f"Slurm is not installed ({', '.join(missing)} missing; .ci/run installs slurm-wlm)"
    if os.geteuid() != 0:
        return "the loopback Slurm cluster runs its daemons as root"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(root: Path, gpus: int) -> str:
    host = socket.gethostname()
    ports = _free_port(), _free_port()
    return "\n".join([
        "ClusterName=ptbtest",
        f"SlurmctldHost={host}(127.0.0.1)",
        f"SlurmctldPort={ports[0]}",
        f"SlurmdPort={ports[1]}",
        "AuthType=auth/none",
        "CredType=cred/none",
        "SlurmUser=root",
        "SlurmdUser=root",
        f"StateSaveLocation={root}/state",
        f"SlurmdSpoolDir={root}/spool",
        f"SlurmctldPidFile={root}/slurmctld.pid",
        f"SlurmdPidFile={root}/slurmd.pid",
        f"SlurmctldLogFile={root}/slurmctld.log",
        f"SlurmdLogFile={root}/slurmd.log",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "ReturnToService=2",
        "MpiDefault=none",
        "JobCompType=jobcomp/none",
        "AccountingStorageType=accounting_storage/none",
        "GresTypes=gpu",
        "SchedulerParameters=sched_interval=1",
        "MinJobAge=600",
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs=2 RealMemory=8000 TmpDisk=10000 Gres=gpu:{gpus} State=UNKNOWN",
        "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        "",
    ])


@contextmanager
def slurm_cluster(root: Path, gpus: int = 2) -> Iterator[dict[str, str]]:
    """Start the cluster; yields the environment its commands need (``SLURM_CONF``)."""
    for folder in ("state", "spool", "dev"):
        (root / folder).mkdir(parents=True)
    for index in range(gpus):
        os.mknod(root / "dev" / f"gpu{index}", 0o666 | 0o020000, os.makedev(1, 3))  # a character device, like /dev/null
    (root / "slurm.conf").write_text(_config(root, gpus))
    (root / "gres.conf").write_text(f"NodeName={socket.gethostname()} Name=gpu File={root}/dev/gpu[0-{gpus - 1}]\n")
    env = {**os.environ, "SLURM_CONF": str(root / "slurm.conf")}
    subprocess.run(["slurmctld"], env=env, check=True)
    subprocess.run(["slurmd"], env=env, check=True)
    try:
        deadline = time.monotonic() + 30
        while "idle" not in subprocess.run(["sinfo", "--noheader", "--format=%t"], env=env, capture_output=True, text=True).stdout:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Slurm node did not come up: {(root / 'slurmd.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield {"SLURM_CONF": env["SLURM_CONF"]}
    finally:
        subprocess.run(["scancel", "--user=root"], env=env, capture_output=True)
        subprocess.run(["scontrol", "shutdown"], env=env, capture_output=True)
        for pid_file in ("slurmd.pid", "slurmctld.pid"):
            _wait_gone(root / pid_file)


def _wait_gone(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, 9)
