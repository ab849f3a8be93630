"""The bubblewrap sandbox really isolates: checked with real bwrap, never with a mock."""

from __future__ import annotations

import json
import os
import shutil
import site
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from posttrainbench.sandbox import LaunchSpec, get_sandbox

pytestmark = pytest.mark.requires_bwrap


def run_in_sandbox(tmp_path: Path, script: str, *, network: bool = True, hidden: list[Path] | None = None,
                   env: dict[str, str] | None = None, scratch: Path | None = None) -> subprocess.CompletedProcess[str]:
    workspace = tmp_path / "ws"
    workspace.mkdir(exist_ok=True)
    spec = LaunchSpec(["bash", "-c", script], workspace=workspace, scratch=scratch or tmp_path / "scratch-sbx",
                      hf_home=Path(os.environ["HF_HOME"]), network=network, hidden=hidden or [])
    sandbox = get_sandbox("bubblewrap")
    sandbox.prepare_scratch(spec)
    try:
        return subprocess.run(sandbox.wrap(spec), capture_output=True, text=True, timeout=60,
                              env=env or {"PATH": os.environ["PATH"], "HOME": "/tmp/home"})
    finally:
        sandbox.cleanup(spec)


def test_writes_outside_the_workspace_do_not_reach_the_host(tmp_path: Path) -> None:
    outside = Path("/var/tmp") / f"ptb-sandbox-probe-{os.getpid()}"
    proc = run_in_sandbox(tmp_path, f"echo mine > ws_file && echo x > {outside} && cat {outside} && mkdir -p /opt/ptbprobe")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "x"  # the write worked inside ...
    assert not outside.exists() and not Path("/opt/ptbprobe").exists()  # ... and never reached the host
    assert (tmp_path / "ws" / "ws_file").read_text() == "mine\n"
    assert not (tmp_path / "scratch-sbx").exists()  # the layers are gone after cleanup


def test_cannot_see_or_signal_harness_processes(tmp_path: Path) -> None:
    victim = subprocess.Popen(["sleep", "300"])
    try:
        proc = run_in_sandbox(tmp_path, f"ls /proc | grep -c '^[0-9]' ; kill -9 {victim.pid}; echo kill=$?")
        count, kill_line = proc.stdout.split()
        assert int(count) < 10
        assert kill_line != "kill=0"
        assert victim.poll() is None
    finally:
        victim.kill()


def test_hf_cache_is_copy_on_write(tmp_path: Path) -> None:
    hf = Path(os.environ["HF_HOME"])
    shared = hf / "hub" / "shared.txt"
    shared.write_text("original\n")
    (hf / "token").write_text("hf_secret_token\n")
    proc = run_in_sandbox(tmp_path, f"cat {shared}; echo changed > {shared}; echo new > {hf}/hub/download.bin; "
                                    f"cat {shared}; cat {hf}/token; echo end")
    assert proc.stdout.split() == ["original", "changed", "end"]  # readable, writable, token hidden
    assert shared.read_text() == "original\n"
    assert not (hf / "hub" / "download.bin").exists()


def test_hidden_paths_and_secrets(tmp_path: Path) -> None:
    results = tmp_path / "results"
    (results / "other-run").mkdir(parents=True)
    (results / "other-run" / "result.json").write_text("{}")
    env = {"PATH": os.environ["PATH"], "HOME": "/tmp/home"}
    os.environ["PTB_TEST_SECRET"] = "s3cr3t"
    try:
        proc = run_in_sandbox(tmp_path, f"ls -A {results} | wc -l; env", hidden=[results], env=env)
    finally:
        del os.environ["PTB_TEST_SECRET"]
    lines = proc.stdout.splitlines()
    assert lines[0].strip() == "0"
    assert "s3cr3t" not in proc.stdout


def test_network_can_be_cut(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    threading.Thread(target=lambda: [server.accept() for _ in range(2)], daemon=True).start()
    probe = f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3); print('connected')\""
    try:
        assert "connected" in run_in_sandbox(tmp_path, probe, network=True).stdout
        cut = run_in_sandbox(tmp_path, probe, network=False)
        assert "connected" not in cut.stdout and cut.returncode != 0
    finally:
        server.close()


def test_agent_runs_as_root_in_its_own_namespace_and_can_install(tmp_path: Path) -> None:
    proc = run_in_sandbox(tmp_path, "id -u; echo 'print(42)' > /usr/local/lib/ptb_probe_mod.py && echo ok; echo $$")
    uid, ok, pid = proc.stdout.split()
    assert (uid, ok) == ("0", "ok")
    assert int(pid) < 10  # own PID namespace
    assert not Path("/usr/local/lib/ptb_probe_mod.py").exists()


def test_scratch_below_a_system_directory(tmp_path: Path) -> None:
    # That directory cannot be its own overlay's lower layer: it stays read-only, the rest still works.
    scratch = Path(tempfile.mkdtemp(prefix="ptb-scratch-", dir="/var/tmp"))
    try:
        proc = run_in_sandbox(tmp_path, "echo ok > ws_file && touch /var/probe; echo var=$?; echo x > /usr/local/p && echo usr=ok",
                              scratch=scratch / "s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["var=1", "usr=ok"]
    assert (tmp_path / "ws" / "ws_file").is_file() and not Path("/var/probe").exists()


def test_kernel_settings_and_cgroups_are_read_only(tmp_path: Path) -> None:
    proc = run_in_sandbox(tmp_path, "echo 1 > /proc/sys/vm/drop_caches; echo proc=$?; mkdir /sys/fs/cgroup/ptb-probe; "
                                    "echo cgroup=$?; ls -A /sys/fs/cgroup | wc -l; grep CapEff /proc/self/status")
    lines = proc.stdout.split("\n")
    assert lines[:3] == ["proc=1", "cgroup=1", "0"], proc.stdout  # the cgroup tree is hidden and read-only
    assert lines[3].split() == ["CapEff:", "0000000000000000"]  # root of its namespace, without capabilities


def test_harness_installed_under_tmp_runs_a_trial_and_the_code_jail(tmp_path: Path) -> None:
    """The sandbox and the code jail give their process a private /tmp, yet keep the harness's own
    interpreter and package reachable when both live under /tmp (a virtual environment made there)."""
    import posttrainbench

    home = Path(tempfile.mkdtemp(prefix="ptb venv ", dir="/tmp"))  # a space in the path, too
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home / "venv")], check=True)
        python = home / "venv" / "bin" / "python"
        site_dir = Path(subprocess.run([python, "-c", "import site; print(site.getsitepackages()[0])"],
                                       capture_output=True, text=True, check=True).stdout.strip())
        (site_dir / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")  # torch, inspect, ...
        shutil.copytree(Path(posttrainbench.__file__).parent, site_dir / "posttrainbench")
        entry = "from posttrainbench.cli import main; main()"
        env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}  # the copy under /tmp
        trial = subprocess.run([python, "-c", entry, "quickstart", "--dir", str(home / "qs"), "--sandbox", "bubblewrap",
                                "--train-steps", "5"],
                               capture_output=True, text=True, timeout=300, cwd=home, env=env)
        assert trial.returncode == 0, trial.stderr[-2000:]
        [result] = (home / "qs" / "results").glob("*/result.json")
        assert json.loads(result.read_text())["status"] == "success"
        jail = ("import asyncio, posttrainbench; from posttrainbench.evaluation import code_jail as jail; "
                "print(posttrainbench.__file__, jail.mode(), asyncio.run(jail.run_python('assert sum([1, 2]) == 3', 30))[0])")
        checked = subprocess.run([python, "-c", jail], capture_output=True, text=True, timeout=120, cwd=home, env=env)
        assert checked.returncode == 0, checked.stderr
        module, mode, passed = checked.stdout.rsplit(" ", 2)
        assert module.startswith(str(home)) and (mode, passed.strip()) == ("bubblewrap", "True")
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_a_resumed_launch_reuses_the_sandbox_of_the_first(tmp_path: Path) -> None:
    """A re-prompted agent starts again in the same scratch: same root, its earlier changes still there."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    spec = LaunchSpec(["bash", "-c", "cat /usr/local/ptb-resume-probe 2>/dev/null; echo again > /usr/local/ptb-resume-probe"],
                      workspace=workspace, scratch=tmp_path / "scratch-sbx", hf_home=Path(os.environ["HF_HOME"]))
    sandbox = get_sandbox("bubblewrap")
    sandbox.prepare_scratch(spec)
    env = {"PATH": os.environ["PATH"], "HOME": "/tmp/home"}
    try:
        first, second = (subprocess.run(sandbox.wrap(spec), capture_output=True, text=True, timeout=60, env=env) for _ in range(2))
    finally:
        sandbox.cleanup(spec)
    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    assert (first.stdout, second.stdout) == ("", "again\n")
    assert not Path("/usr/local/ptb-resume-probe").exists()
