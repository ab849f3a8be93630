"""What of the host a sandboxed process must not see, and what it must still reach wherever it lives.

Both the agent sandbox and the HumanEval code jail use these answers:

- ``private_paths``: home directories and the usual places of credentials. The agent runs as uid 0 of a user
  namespace that maps to the invoking user (root, on many machines), so it has that user's file permissions
  on everything it sees; a secret it can read can leave over the open network.
- ``runtime_paths``: the interpreter and its environment, this package, and the programs a launch starts
  (an agent CLI and its node). A private /tmp or a hidden home must never hide them: a virtual environment
  under /tmp or an npm prefix in a home directory is common.
"""

from __future__ import annotations

import os
import pwd
import shutil
import site
import sys
from collections.abc import Iterable
from pathlib import Path

import posttrainbench

# Directories that get an empty private copy in every sandbox (the host's hold other users' and trials' files).
PRIVATE_TMP = (Path("/tmp"), Path("/var/tmp"))

# Credentials outside home directories: password hashes, host keys, keytabs, TLS private keys, cluster and
# container state, cloud-init user data (often holds keys) and the logs that record logins.
SYSTEM_SECRETS = (
    "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/security/opasswd",
    "/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key",
    "/etc/ssh/ssh_host_dsa_key", "/etc/krb5.keytab", "/etc/ssl/private", "/etc/munge",
    "/var/lib/docker", "/var/lib/containers", "/var/lib/kubelet", "/var/spool/slurmd", "/var/spool/cron",
    "/var/lib/cloud", "/var/log/cloud-init.log", "/var/log/cloud-init-output.log", "/var/log/auth.log",
    "/var/log/secure", "/var/mail", "/var/spool/mail",
)

# Login users have uids from 1000 on (Debian's and Red Hat's UID_MIN); 65534 is nobody.
FIRST_LOGIN_UID, NOBODY_UID = 1000, 65534


def home_directories() -> list[Path]:
    """The invoking user's home, root's, /home and every login user's home (never a system directory)."""
    homes = {Path.home(), Path("/root"), Path("/home")}
    if os.environ.get("HOME"):
        homes.add(Path(os.environ["HOME"]))
    for entry in pwd.getpwall():
        if entry.pw_uid == 0 or FIRST_LOGIN_UID <= entry.pw_uid < NOBODY_UID:
            homes.add(Path(entry.pw_dir))
    return [home for home in homes if home != Path("/") and len(home.resolve().parts) > 1]


def private_paths() -> list[Path]:
    """Existing host paths no sandboxed process may read: home directories and system credentials."""
    paths = [*home_directories(), *map(Path, SYSTEM_SECRETS)]
    return minimal(path.resolve() for path in paths if path.exists())


def install_root(executable: str | Path) -> Path:
    """The folder an executable needs to run: its npm package tree, its prefix (``.../bin/..``) or its folder."""
    real = Path(executable).resolve()
    if "node_modules" in real.parts:
        parts = real.parts
        return Path(*parts[: parts.index("node_modules") + 1])
    return real.parent.parent if real.parent.name == "bin" else real.parent


def runtime_paths(programs: Iterable[str] = (), path_variable: str | None = None) -> list[Path]:
    """Folders the harness runs from: the interpreter, its environment, this package, and ``programs``.

    ``programs`` are command names or paths (an agent's argv[0]), looked up on ``path_variable`` (default
    $PATH). An npm-installed program also needs ``node``.
    """
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.base_exec_prefix),
             install_root(sys.executable), Path(posttrainbench.__file__).resolve().parent.parent}
    roots.update(Path(entry) for entry in site.getsitepackages())
    cwd = Path.cwd().resolve()
    roots.update(Path(entry) for entry in sys.path if entry and Path(entry).resolve() != cwd)  # .pth entries
    if site.ENABLE_USER_SITE:
        roots.add(Path(site.getusersitepackages()))
    for program in programs:
        found = shutil.which(program, path=path_variable)
        if found is None:
            continue
        roots.add(install_root(found))
        node = shutil.which("node", path=path_variable)
        if "node_modules" in Path(found).resolve().parts and node is not None:
            roots.add(install_root(node))
    return minimal(root.resolve() for root in roots if root.exists())


def to_hide(paths: Iterable[Path]) -> list[Path]:
    """The existing ``paths`` that need covering: never ``/``, nor what the private /tmp and /var/tmp cover."""
    return sorted({path for path in paths if len(path.parts) > 1 and path.exists() and not covered_by(path, PRIVATE_TMP)})


def kept_under(covers: list[Path], programs: Iterable[str] = (), path_variable: str | None = None) -> list[Path]:
    """The runtime folders (``runtime_paths``) that ``covers`` would hide: they go back on top of them."""
    return [path for path in runtime_paths(programs, path_variable) if covered_by(path, covers)]


def covered_by(path: Path, covers: Iterable[Path]) -> bool:
    return any(path.is_relative_to(cover) for cover in covers)


def minimal(paths: Iterable[Path]) -> list[Path]:
    """``paths`` without those inside another of them, sorted."""
    unique = sorted(set(paths))
    return [path for path in unique if not any(other != path and path.is_relative_to(other) for other in unique)]
