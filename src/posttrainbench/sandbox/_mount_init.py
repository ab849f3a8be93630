"""Mount set-up that runs inside a fresh user+mount namespace, before bubblewrap starts the agent.

Run as ``python -I _mount_init.py PLAN.json -- bwrap ...`` under ``unshare --user --map-root-user --mount``.
It uses only the standard library (it runs before anything else is set up) and, in order:

1. opens the paths that must stay real (workspace, HF cache, scratch /tmp) before anything covers them;
2. puts a kernel overlayfs over every top-level directory, with the upper layers in the scratch directory:
   the agent can write anywhere, nothing reaches the host (directories the kernel cannot overlay in a user
   namespace, because other filesystems are mounted below them, stay read-only);
3. binds the scratch /tmp over /tmp and covers the hidden paths (results root, secrets) with empty tmpfs;
4. mounts the HF cache copy-on-write at its own path, binds the base model read-only and the real
   workspace read-write;
5. execs bubblewrap, which adds the PID namespace, a fresh /proc and /dev, and drops the capabilities.

Mounts made here are locked for the agent (it runs in a nested user namespace), so it cannot unmount
them to reach what they cover.
"""

import ctypes
import json
import os
import sys

MS_BIND = 4096
MS_REC = 16384
MS_RDONLY = 1
MS_REMOUNT = 32
SKIP_TOP = {"proc", "sys", "dev", "tmp", "run", "lost+found"}

_libc = ctypes.CDLL(None, use_errno=True)


def mount(source, target, fstype, flags, data=None):
    result = _libc.mount(
        source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
        data.encode() if data else None,
    )
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {fstype or 'bind'} {source} on {target}: {os.strerror(errno)}")


def fd_path(fd):
    return f"/proc/self/fd/{fd}"


def under(path, parent):
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def mount_points():
    """Every mount point visible in this namespace (from /proc/self/mountinfo)."""
    with open("/proc/self/mountinfo") as handle:
        return {line.split()[4].replace("\\040", " ") for line in handle}


def overlay_targets(scratch):
    """Split the top-level directories into those to overlay and those to keep read-only.

    The kernel refuses an overlay whose lower directory has mounts below it (they are locked in a user
    namespace), and the directory holding the scratch cannot be its own lower layer: both stay read-only.
    """
    points = mount_points()
    overlay, readonly = [], []
    for name in sorted(os.listdir("/")):
        path = "/" + name
        if name in SKIP_TOP or os.path.islink(path) or not os.path.isdir(path):
            continue
        nested = any(point != path and under(point, path) for point in points)
        (readonly if nested or under(scratch, path) else overlay).append(path)
    return overlay, readonly


def main():
    plan_path, bwrap_argv = sys.argv[1], sys.argv[3:]
    with open(plan_path) as handle:
        plan = json.load(handle)
    scratch = plan["scratch"]
    keep = {name: os.open(path, os.O_PATH | os.O_DIRECTORY) for name, path in plan["keep"].items()}
    # The scratch may be under the host /tmp, which gets covered: reach its layers through a descriptor.
    layers = fd_path(os.open(scratch, os.O_PATH | os.O_DIRECTORY))
    targets, readonly = overlay_targets(scratch)
    originals = {target: os.open(target, os.O_PATH | os.O_DIRECTORY) for target in targets}
    # Every layer directory exists before the first mount: the scratch may sit below a read-only directory.
    for layer in [*map(str, range(len(targets))), "hf-cache"]:
        os.makedirs(os.path.join(scratch, "upper", layer), exist_ok=True)
        os.makedirs(os.path.join(scratch, "work", layer), exist_ok=True)
    for index, target in enumerate(targets):
        upper = os.path.join(scratch, "upper", str(index))
        work = os.path.join(scratch, "work", str(index))
        lower = fd_path(originals[target])
        mount("overlay", target, "overlay", 0, f"lowerdir={lower},upperdir={upper},workdir={work},userxattr")
    for path in readonly:
        mount(path, path, None, MS_BIND | MS_REC)
        mount(path, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
    mount(fd_path(keep["tmp"]), "/tmp", None, MS_BIND | MS_REC)
    for path in plan["hidden"]:
        if os.path.isdir(path):
            mount("tmpfs", path, "tmpfs", 0, "mode=0755,size=1m")
        elif os.path.exists(path):
            mount("/dev/null", path, None, MS_BIND)
    hf_upper = os.path.join(layers, "upper", "hf-cache")
    hf_work = os.path.join(layers, "work", "hf-cache")
    os.makedirs(plan["hf_home"], exist_ok=True)  # a mount point inside the private /tmp, when it lives there
    mount(
        "overlay", plan["hf_home"], "overlay", 0,
        f"lowerdir={fd_path(keep['hf_home'])},upperdir={hf_upper},workdir={hf_work},userxattr",
    )
    for token in ("token", "stored_tokens"):
        path = os.path.join(plan["hf_home"], token)
        if os.path.isfile(path):
            mount("/dev/null", path, None, MS_BIND)
    for path in plan["readonly"]:
        os.makedirs(path, exist_ok=True)
        mount(fd_path(keep["ro:" + path]), path, None, MS_BIND | MS_REC)
        mount(path, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
    os.makedirs(plan["workspace"], exist_ok=True)
    mount(fd_path(keep["workspace"]), plan["workspace"], None, MS_BIND | MS_REC)
    os.chdir(plan["workspace"])
    os.execvp(bwrap_argv[0], bwrap_argv)


if __name__ == "__main__":
    try:
        main()
    except OSError as error:
        print(f"ptb sandbox set-up failed: {error}", file=sys.stderr)
        sys.exit(125)
