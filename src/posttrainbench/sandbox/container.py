"""Container sandboxes: the agent runs in an image (``container_image``) with apptainer, podman or docker.

All three give the agent the same view as bubblewrap where they can: the workspace read-write at its own
path, the HF cache copy-on-write (a fuse-overlayfs mount in the launch's scratch, whose upper layer holds
what the agent added, for the audit), the base model read-only where it is not in the cache, a private
/tmp with the agent's home in it, the trial's GPUs, the network unless the trial turns it off, and the
agent's environment passed by name (never a host variable the harness did not hand it). What the image
holds (the agent CLIs, the training stack) is the image's business: ``containers/`` has the definitions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from posttrainbench import registry
from posttrainbench.sandbox.base import KIND, LaunchSpec, Sandbox
from posttrainbench.sandbox.bubblewrap import gpu_devices

HF_LAYER = "hf-cache"


class ContainerSandbox(Sandbox):
    """What the three runtimes share: the copy-on-write HF cache, the mounts, the checks."""

    runtime = ""

    def merged_cache(self, spec: LaunchSpec) -> Path:
        return spec.scratch / "hf-merged"

    def prepare_scratch(self, spec: LaunchSpec) -> None:
        super().prepare_scratch(spec)
        spec.hf_home.mkdir(parents=True, exist_ok=True)
        upper, work, merged = (spec.scratch / "upper" / HF_LAYER, spec.scratch / "work" / HF_LAYER, self.merged_cache(spec))
        for folder in (upper, work, merged):
            folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["fuse-overlayfs", "-o", f"lowerdir={spec.hf_home},upperdir={upper},workdir={work}", str(merged)],
                       check=True, capture_output=True)

    def cleanup(self, spec: LaunchSpec) -> None:
        merged = self.merged_cache(spec)
        if os.path.ismount(merged):
            unmount = shutil.which("fusermount3") or shutil.which("fusermount") or "fusermount"
            subprocess.run([unmount, "-u", str(merged)], capture_output=True)
        super().cleanup(spec)

    def cache_additions(self, spec: LaunchSpec) -> Path | None:
        return spec.scratch / "upper" / HF_LAYER

    def binds(self, spec: LaunchSpec) -> list[tuple[Path, Path, bool]]:
        """(host path, container path, read-only) for every mount the agent gets."""
        home = spec.scratch / "tmp"
        return [(home, Path("/tmp"), False), (spec.workspace, spec.workspace, False), (self.merged_cache(spec), spec.hf_home, False),
                *((path, path, True) for path in spec.readonly)]

    def problem(self) -> str | None:
        for tool in (self.runtime, "fuse-overlayfs"):
            if shutil.which(tool) is None:
                return f"{tool} not found (the {self.name} sandbox runs the agent with {self.runtime} and the HF cache through fuse-overlayfs)"
        if not self.image:
            return f"{self.runtime} found; the {self.name} sandbox needs a container image (--container-image, or container_image in an experiment)"
        return None

    def launch_failure(self, first_line: str) -> str | None:
        return first_line if first_line.lower().startswith((f"{self.runtime}:", "error:", "fatal:")) else None


class Apptainer(ContainerSandbox):
    """``apptainer exec``: contained (no host home, /tmp or /dev), a writable tmpfs over the image, the GPU
    libraries with ``--nv``. Apptainer passes the caller's environment in (the harness already reduced it to
    the agent's own); ``--cleanenv`` would drop it."""

    name = "apptainer"
    runtime = "apptainer"

    def wrap(self, spec: LaunchSpec) -> list[str]:
        argv = [self.runtime, "exec", "--contain", "--writable-tmpfs", "--home", f"{spec.scratch / 'tmp' / 'home'}:{spec.home}"]
        argv += ["--nv"] if gpu_devices() else []
        argv += [] if spec.network else ["--net", "--network", "none"]
        for host, inside, readonly in self.binds(spec):
            argv += ["--bind", f"{host}:{inside}" + (":ro" if readonly else "")]
        return [*argv, "--pwd", str(spec.workspace), str(self.image), *spec.argv]


class Podman(ContainerSandbox):
    """``podman run``: its own root, PID and IPC namespaces, every capability dropped, the GPUs through CDI
    (``nvidia.com/gpu=<index>`` for each GPU of the trial), the environment by name (``--env NAME`` takes the
    value from podman's own environment, which is the agent's)."""

    name = "podman"
    runtime = "podman"

    def gpu_options(self, spec: LaunchSpec) -> list[str]:
        visible = [gpu for gpu in spec.env.get("CUDA_VISIBLE_DEVICES", "").split(",") if gpu.strip()] if gpu_devices() else []
        return [option for gpu in visible for option in ("--device", f"nvidia.com/gpu={gpu}")] if visible else \
            (["--device", "nvidia.com/gpu=all"] if gpu_devices() else [])

    def wrap(self, spec: LaunchSpec) -> list[str]:
        argv = [self.runtime, "run", "--rm", "--init", "--cap-drop=ALL", "--security-opt=no-new-privileges", "--user=0:0",
                f"--workdir={spec.workspace}", f"--network={'host' if spec.network else 'none'}", "--ipc=private"]
        argv += self.gpu_options(spec)
        for host, inside, readonly in self.binds(spec):
            argv += ["--volume", f"{host}:{inside}:{'ro' if readonly else 'rw'}"]
        # inside, the trial's GPUs are numbered from 0: the host's indices mean nothing there
        names = [name for name in sorted(spec.env) if name != "CUDA_VISIBLE_DEVICES"]
        argv += [option for name in names for option in ("--env", name)]
        return [*argv, str(self.image), *spec.argv]


class Docker(Podman):
    """``docker run``, as podman, with the GPUs through ``--gpus "device=<indices>"``."""

    name = "docker"
    runtime = "docker"

    def gpu_options(self, spec: LaunchSpec) -> list[str]:
        if not gpu_devices():
            return []
        visible = spec.env.get("CUDA_VISIBLE_DEVICES", "").strip()
        return ["--gpus", f'"device={visible}"' if visible else "all"]


for _sandbox in (Apptainer, Podman, Docker):
    registry.register(KIND, _sandbox.name, _sandbox)
