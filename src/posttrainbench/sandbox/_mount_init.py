"""Builds the agent's root filesystem inside a fresh user+mount namespace, then execs bubblewrap.

Run as ``python -I _mount_init.py PLAN.json -- bwrap ...`` under ``unshare --user --map-root-user --mount``.
It uses only the standard library (it runs before anything else is set up). The plan (written by
``bubblewrap.py``) names a new root directory in the launch's scratch and a list of mounts, parents before
children; each goes to the same path below the new root:

- ``dir``/``symlink``: an entry of the host's ``/`` that gets a mount later, or a link copied as it is;
- ``overlay``: a kernel overlayfs over a host directory, its upper layer in the scratch (copy-on-write);
- ``bind-ro``/``bind-rw``: a host file or directory, read-only (recursively) or writable (the workspace);
- ``tmpfs``/``null``: an empty directory or file over something hidden.

Nothing is mounted over the host's own tree, so every source stays reachable at its real path while the
root is built. bubblewrap then binds the new root as ``/``: the host's ``/`` itself is never the agent's.
Mounts made here are locked for the agent (it runs in a nested user namespace), so it cannot unmount them
or make them writable.
"""

import ctypes
import json
import os
import re
import sys

MS_BIND = 4096
MS_REC = 16384
MS_RDONLY = 1
MS_REMOUNT = 32
MOUNT_ATTR_RDONLY = 1
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
SYS_MOUNT_SETATTR = 442
SETUP_FAILED = "ptb sandbox set-up failed: "  # the same number on every architecture (the generic syscall table)

_libc = ctypes.CDLL(None, use_errno=True)


class MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _fail(what):
    errno = ctypes.get_errno()
    raise OSError(errno, f"{what}: {os.strerror(errno)}")


def mount(source, target, fstype, flags, data=None):
    result = _libc.mount(
        source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
        data.encode() if data else None,
    )
    if result != 0:
        _fail(f"mount {fstype or 'bind'} {source} on {target}")


def make_readonly(target):
    """Make a bind mount and every mount below it read-only."""
    attr = MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    result = _libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, target.encode(), AT_RECURSIVE, ctypes.byref(attr),
                           ctypes.sizeof(attr))
    if result == 0:
        return
    if ctypes.get_errno() != 38:  # ENOSYS: a kernel older than 5.12; remount each mount by hand below
        _fail(f"read-only {target}")
    for point in sorted(mount_points_below(target)):
        keep = os.statvfs(point).f_flag & (2 | 4 | 8 | 1024)  # nosuid, nodev, noexec, noatime stay locked
        mount(point, point, None, MS_BIND | MS_REMOUNT | MS_RDONLY | keep)


def mount_points():
    """Every mount point of this mount namespace; mountinfo writes space, tab, newline and backslash as octal."""
    with open("/proc/self/mountinfo") as handle:
        fields = [line.split()[4] for line in handle]
    return {re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field) for field in fields}


def mount_points_below(target):
    return {point for point in mount_points() if point == target or point.startswith(target.rstrip("/") + "/")}


def make_target(path, directory):
    """The mount point: an empty directory or file, with its parents (they may be in a hidden tmpfs)."""
    if os.path.lexists(path):
        return
    os.makedirs(path if directory else os.path.dirname(path), exist_ok=True)
    if not directory:
        open(path, "a").close()


def apply(root, step):
    kind, target = step["kind"], root + step["target"]
    source = step.get("source")
    if kind == "symlink":
        if not os.path.lexists(target):  # a resumed launch reuses the root of the first one
            os.symlink(step["link"], target)
        return
    make_target(target, directory=kind in ("dir", "tmpfs") or (source is not None and os.path.isdir(source)))
    if kind == "overlay":
        for layer in (step["upper"], step["work"]):
            os.makedirs(layer, exist_ok=True)
        mount("overlay", target, "overlay", 0,
              f"lowerdir={source},upperdir={step['upper']},workdir={step['work']},userxattr")
    elif kind in ("bind-ro", "bind-rw"):
        mount(source, target, None, MS_BIND | MS_REC)
        if kind == "bind-ro":
            make_readonly(target)
    elif kind == "tmpfs":
        mount("tmpfs", target, "tmpfs", 0, "mode=0755,size=1m")
    elif kind == "null":
        mount("/dev/null", target, None, MS_BIND)


def main():
    plan_path, bwrap_argv = sys.argv[1], sys.argv[3:]
    with open(plan_path) as handle:
        plan = json.load(handle)
    root = plan["root"]
    os.makedirs(root, exist_ok=True)
    for step in plan["mounts"]:
        apply(root, step)
    os.chdir("/")
    os.execvp(bwrap_argv[0], bwrap_argv)


if __name__ == "__main__":
    try:
        main()
    except OSError as error:
        print(f"{SETUP_FAILED}{error}", file=sys.stderr)
        sys.exit(125)
