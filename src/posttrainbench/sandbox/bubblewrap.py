"""Bubblewrap sandbox: the agent's own root and PID namespace, its workspace read-write, the rest copy-on-write.

The launch is ``unshare -> _mount_init.py -> bwrap -> agent``. ``unshare`` gives a user and mount
namespace in which ``_mount_init.py`` builds a new root directory in the launch's scratch, following the
plan made here: every top-level directory of the host as a kernel overlayfs (upper layers in the scratch),
private /tmp and /var/tmp, home directories and credentials hidden, the HF cache copy-on-write, the harness's
own interpreter and the agent's CLI read-only wherever they live, the workspace read-write. ``bwrap`` then
makes that directory ``/`` and adds the PID/IPC/UTS/cgroup (and optionally network) namespaces, a fresh /proc
with /proc/sys read-only, a read-only /sys without the cgroup tree, a minimal /dev with the GPU device nodes,
an empty /run, and drops every capability the set-up used. The README's Sandbox section lists what the
agent can still reach and why.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from posttrainbench import registry, settings
from posttrainbench.sandbox._mount_init import SETUP_FAILED, mount_points
from posttrainbench.sandbox.base import KIND, LaunchSpec, Sandbox
from posttrainbench.sandbox.host import PRIVATE_TMP, kept_under, private_paths, to_hide

LAUNCHER_PREFIXES = (SETUP_FAILED, "bwrap: ", "unshare: ")
GPU_DEVICE_GLOBS = ("/dev/nvidia*", "/dev/nvidia-caps", "/dev/dri")
# Top-level entries bubblewrap fills itself (/tmp gets the launch's private copy).
FILLED_BY_BWRAP = {"proc", "sys", "dev", "run", "tmp"}
# Mounts go parents first; on one path the later kind wins: a hidden home, then what must stay reachable in it.
PRIVATE, HIDDEN, CACHE, KEPT, WORKSPACE = range(5)


def gpu_devices() -> list[str]:
    return sorted({path for pattern in GPU_DEVICE_GLOBS for path in glob.glob(pattern)})


def can_overlay(spec: LaunchSpec, path: Path, points: set[Path]) -> bool:
    """The kernel refuses an overlay whose lower directory has mounts below it (``points``: they are locked
    in a user namespace), and the directory holding the scratch cannot be its own lower layer: those stay
    read-only."""
    nested = any(point != path and point.is_relative_to(path) for point in points)
    return not nested and not spec.scratch.is_relative_to(path)


def top_level(spec: LaunchSpec, hidden: list[Path], points: set[Path]) -> list[dict[str, Any]]:
    """The new root's entries for the host's ``/``: overlays, read-only binds, links, empty mount points."""
    steps: list[dict[str, Any]] = []
    for name in sorted(os.listdir("/")):
        path = Path("/") / name
        if name == "lost+found":
            continue
        if path.is_symlink():
            steps.append({"kind": "symlink", "target": str(path), "link": os.readlink(path)})
        elif name in FILLED_BY_BWRAP or path in hidden:
            steps.append({"kind": "dir", "target": str(path)})
        elif path.is_dir() and can_overlay(spec, path, points):
            steps.append(overlay(spec, path, f"top/{name}"))
        elif path.is_dir() or path.is_file():
            steps.append({"kind": "bind-ro", "target": str(path), "source": str(path)})
    return steps


HF_CACHE_LAYER = "hf-cache"


def overlay(spec: LaunchSpec, path: Path, layer: str) -> dict[str, Any]:
    return {"kind": "overlay", "target": str(path), "source": str(path),
            "upper": str(spec.scratch / "upper" / layer), "work": str(spec.scratch / "work" / layer)}


def hidden_paths(spec: LaunchSpec) -> list[Path]:
    """What the agent must not see: the trial's own list, private host files and other launches' scratch."""
    return to_hide([*spec.hidden, *private_paths(), spec.scratch.parent.resolve()])


def plan(spec: LaunchSpec) -> dict[str, Any]:
    """The mounts ``_mount_init.py`` makes, in order: the host's top level, then the rest parents first."""
    hidden = hidden_paths(spec)
    points = {Path(point) for point in mount_points()}
    layered: list[tuple[int, dict[str, Any]]] = []
    for index, private in enumerate(PRIVATE_TMP):
        if private.is_dir() and not private.is_symlink():
            source = spec.scratch / "tmp" if private == Path("/tmp") else spec.scratch / f"private-{index}"
            source.mkdir(parents=True, exist_ok=True)
            layered.append((PRIVATE, {"kind": "bind-rw", "target": str(private), "source": str(source)}))
    for path in hidden:
        layered.append((HIDDEN, {"kind": "tmpfs" if path.is_dir() else "null", "target": str(path)}))
    layered.append((CACHE, overlay(spec, spec.hf_home, HF_CACHE_LAYER)))
    for token in ("token", "stored_tokens"):
        if (spec.hf_home / token).is_file():
            layered.append((CACHE, {"kind": "null", "target": str(spec.hf_home / token)}))
    reachable = kept_under([*PRIVATE_TMP, *hidden], spec.argv[:1], spec.search_path)
    for path in spec.readonly:
        layered.append((KEPT, {"kind": "bind-ro", "target": str(path), "source": str(path)}))
    for index, path in enumerate(reachable):  # copy-on-write, as the rest of the system: pip install works
        layered.append((KEPT, overlay(spec, path, f"kept/{index}") if can_overlay(spec, path, points)
                        else {"kind": "bind-ro", "target": str(path), "source": str(path)}))
    layered.append((WORKSPACE, {"kind": "bind-rw", "target": str(spec.workspace), "source": str(spec.workspace)}))
    layered.sort(key=lambda item: (len(Path(item[1]["target"]).parts), item[0]))
    return {"root": str(spec.scratch / "root"), "mounts": [*top_level(spec, hidden, points), *(step for _, step in layered)]}


def kernel_interfaces() -> list[str]:
    """bwrap arguments for /sys and /proc that keep the agent from changing the host's kernel settings.

    The agent is uid 0 of a user namespace mapped to the invoking user, so when that user is root it has
    root's file permissions on the kernel's files: /sys (the cgroup tree among them) and /proc/sys would be
    writable, and bwrap does not cover /proc/sys itself.
    """
    args = ["--ro-bind", "/sys", "/sys"]
    if Path("/sys/fs/cgroup").is_dir():
        args += ["--tmpfs", "/sys/fs/cgroup", "--remount-ro", "/sys/fs/cgroup"]
    args += ["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys"]
    if Path("/proc/sysrq-trigger").exists():
        args += ["--ro-bind", "/proc/sysrq-trigger", "/proc/sysrq-trigger"]
    return args


class Bubblewrap(Sandbox):
    name = "bubblewrap"

    def wrap(self, spec: LaunchSpec) -> list[str]:
        plan_path = spec.scratch / "plan.json"
        plan_path.write_text(json.dumps(plan(spec), indent=2))
        init = str(resources.files("posttrainbench.sandbox").joinpath("_mount_init.py"))
        bwrap = [
            "bwrap", "--unshare-user", "--uid", "0", "--gid", "0",
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            *([] if spec.network else ["--unshare-net"]),
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--bind", str(spec.scratch / "root"), "/",
            *kernel_interfaces(),
            "--dev", "/dev", "--tmpfs", "/run",
        ]
        for device in gpu_devices():
            bwrap += ["--dev-bind", device, device]
        bwrap += ["--chdir", str(spec.workspace), "--", *spec.argv]
        return [
            "unshare", "--user", "--map-root-user", "--mount", "--propagation", "private",
            sys.executable, "-I", init, str(plan_path), "--", *bwrap,
        ]

    def launch_failure(self, first_line: str) -> str | None:
        # The set-up step, unshare and bwrap each report their own failure before the agent prints anything.
        return first_line if first_line.startswith(LAUNCHER_PREFIXES) else None

    def prepare_scratch(self, spec: LaunchSpec) -> None:
        super().prepare_scratch(spec)
        spec.hf_home.mkdir(parents=True, exist_ok=True)

    def cache_additions(self, spec: LaunchSpec) -> Path | None:
        return spec.scratch / "upper" / HF_CACHE_LAYER  # the overlay's upper layer: the agent's writes only

    def problem(self) -> str | None:
        return _probe()


@functools.cache
def _probe() -> str | None:
    """Start the harness's own interpreter in the sandbox once, as trials do; return why it failed, or None."""
    for tool in ("bwrap", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} not found (install bubblewrap and util-linux, e.g. `apt-get install bubblewrap`)"
    with tempfile.TemporaryDirectory(prefix="ptb-probe-", dir=settings.scratch_dir()) as tmp:
        root = Path(tmp)
        spec = LaunchSpec([sys.executable, "-c", "import posttrainbench"], workspace=root / "ws", scratch=root / "scratch",
                          hf_home=root / "hf")
        spec.workspace.mkdir()
        sandbox = Bubblewrap()
        sandbox.prepare_scratch(spec)
        try:
            proc = subprocess.run(sandbox.wrap(spec), capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return "bubblewrap probe timed out"
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines() or [f"exit {proc.returncode}"]
            return f"bubblewrap cannot start a sandbox here: {lines[-1]}"
    return None


registry.register(KIND, "bubblewrap", Bubblewrap)
