"""Bubblewrap sandbox: the agent's own PID namespace, its workspace read-write, the rest copy-on-write.

The launch is ``unshare -> _mount_init.py -> bwrap -> agent``. ``unshare`` gives a user and mount
namespace in which ``_mount_init.py`` builds the filesystem view (kernel overlayfs layers kept in the
launch's scratch directory); ``bwrap`` then adds the PID/IPC/UTS (and optionally network) namespaces, a
fresh /proc and /dev with the GPU device nodes passed through, and drops all capabilities the set-up used.
"""

from __future__ import annotations

import functools
import glob
import json
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

from posttrainbench import registry
from posttrainbench.sandbox.base import KIND, LaunchSpec, Sandbox

GPU_DEVICE_GLOBS = ("/dev/nvidia*", "/dev/nvidia-caps", "/dev/dri")


def gpu_devices() -> list[str]:
    return sorted({path for pattern in GPU_DEVICE_GLOBS for path in glob.glob(pattern)})


class Bubblewrap(Sandbox):
    name = "bubblewrap"

    def wrap(self, spec: LaunchSpec) -> list[str]:
        plan = {
            "scratch": str(spec.scratch),
            "workspace": str(spec.workspace),
            "hf_home": str(spec.hf_home),
            "hidden": [str(path) for path in spec.hidden],
            "readonly": [str(path) for path in spec.readonly],
            "keep": {
                "workspace": str(spec.workspace),
                "hf_home": str(spec.hf_home),
                "tmp": str(spec.scratch / "tmp"),
                **{f"ro:{path}": str(path) for path in spec.readonly},
            },
        }
        plan_path = spec.scratch / "plan.json"
        plan_path.write_text(json.dumps(plan, indent=2))
        init = str(resources.files("posttrainbench.sandbox").joinpath("_mount_init.py"))
        bwrap = [
            "bwrap", "--unshare-user", "--uid", "0", "--gid", "0",
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            *([] if spec.network else ["--unshare-net"]),
            "--die-with-parent", "--new-session",
            "--bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/run",
        ]
        for device in gpu_devices():
            bwrap += ["--dev-bind", device, device]
        bwrap += ["--chdir", str(spec.workspace), "--", *spec.argv]
        return [
            "unshare", "--user", "--map-root-user", "--mount", "--propagation", "private",
            sys.executable, "-I", init, str(plan_path), "--", *bwrap,
        ]

    def prepare_scratch(self, spec: LaunchSpec) -> None:
        super().prepare_scratch(spec)
        spec.hf_home.mkdir(parents=True, exist_ok=True)

    def problem(self) -> str | None:
        return _probe()


@functools.cache
def _probe() -> str | None:
    """Run ``true`` in the sandbox once; return why it failed, or None."""
    for tool in ("bwrap", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} not found (install bubblewrap and util-linux, e.g. `apt-get install bubblewrap`)"
    with tempfile.TemporaryDirectory(prefix="ptb-probe-") as tmp:
        root = Path(tmp)
        spec = LaunchSpec(["true"], workspace=root / "ws", scratch=root / "scratch", hf_home=root / "hf")
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
