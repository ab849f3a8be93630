"""Container sandboxes: the command lines they build, the copy-on-write HF cache they mount (fuse-overlayfs,
for real), and the image definitions in containers/. No container runtime can start a container on this
machine (podman 4.3 fails on its hybrid cgroups), so no agent runs in one here."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import TESTS, ptb
from posttrainbench.agents.claude_code import ClaudeCodeAgent
from posttrainbench.agents.codex import CodexAgent
from posttrainbench.agents.gemini_cli import GeminiCliAgent
from posttrainbench.agents.opencode import OpenCodeAgent
from posttrainbench.sandbox import LaunchSpec, get_sandbox
from posttrainbench.sandbox import container

ENV = {"HOME": "/tmp/home", "PTB_PROMPT": "train it", "CUDA_VISIBLE_DEVICES": "2,3", "ANTHROPIC_API_KEY": "k"}


def spec_for(tmp_path: Path, network: bool = True) -> LaunchSpec:
    workspace = tmp_path / "run dir" / "workspace"
    workspace.mkdir(parents=True)
    return LaunchSpec(argv=["claude", "--print", "go"], workspace=workspace, scratch=tmp_path / "scratch", hf_home=tmp_path / "hf",
                      network=network, readonly=[tmp_path / "base model"], env=dict(ENV))


def pairs(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, item in enumerate(argv[:-1]) if item == flag]


def test_apptainer_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container, "gpu_devices", lambda: ["/dev/nvidia0"])
    spec = spec_for(tmp_path, network=False)
    argv = get_sandbox("apptainer", "/images/ptb-agent.sif").wrap(spec)
    assert argv[:5] == ["apptainer", "exec", "--contain", "--writable-tmpfs", "--home"]
    assert argv[-4:] == ["/images/ptb-agent.sif", "claude", "--print", "go"]
    assert "--nv" in argv and pairs(argv, "--network") == ["none"] and pairs(argv, "--pwd") == [str(spec.workspace)]
    assert pairs(argv, "--bind") == [f"{spec.scratch}/tmp:/tmp", f"{spec.workspace}:{spec.workspace}",
                                     f"{spec.scratch}/hf-merged:{spec.hf_home}", f"{tmp_path}/base model:{tmp_path}/base model:ro"]


def test_podman_and_docker_command_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container, "gpu_devices", lambda: ["/dev/nvidia2", "/dev/nvidia3"])
    spec = spec_for(tmp_path)
    podman = get_sandbox("podman", "localhost/ptb-agent:1").wrap(spec)
    assert podman[:3] == ["podman", "run", "--rm"] and "--cap-drop=ALL" in podman and "--network=host" in podman
    assert pairs(podman, "--device") == ["nvidia.com/gpu=2", "nvidia.com/gpu=3"]  # CDI names the trial's own GPUs
    # by name only: values never appear on a command line (ps shows it), and the host's GPU numbering stays out
    assert pairs(podman, "--env") == ["ANTHROPIC_API_KEY", "HOME", "PTB_PROMPT"] and "k" not in podman
    assert f"{tmp_path}/base model:{tmp_path}/base model:ro" in pairs(podman, "--volume")
    assert podman[-4:] == ["localhost/ptb-agent:1", "claude", "--print", "go"]
    docker = get_sandbox("docker", "ptb-agent:1").wrap(spec_for(tmp_path / "d", network=False))
    assert docker[:3] == ["docker", "run", "--rm"] and pairs(docker, "--gpus") == ['"device=2,3"'] and "--network=none" in docker


def test_a_container_sandbox_says_what_it_lacks(tmp_path: Path, tiny_model: Path) -> None:
    podman = get_sandbox("podman").problem() or ""
    assert ("needs a container image" in podman) if shutil.which("podman") and shutil.which("fuse-overlayfs") else ("not found" in podman)
    if shutil.which("apptainer") is None:
        assert "apptainer not found" in (get_sandbox("apptainer", "x.sif").problem() or "")
    out = ptb("run", "--agent", "copy-base", "--model", str(tiny_model), "--family", "qwen3", "--benchmark", "gsm8k",
              "--sandbox", "podman", "--device", "cpu")
    assert out.returncode == 2 and out.stderr.strip().endswith("--sandbox podman needs --container-image (an image with the agent CLIs; see containers/)")


@pytest.mark.skipif(shutil.which("fuse-overlayfs") is None or not Path("/dev/fuse").exists(), reason="needs fuse-overlayfs and /dev/fuse (.ci/run installs it)")
def test_the_hf_cache_is_copy_on_write_and_additions_are_kept(tmp_path: Path) -> None:
    spec = spec_for(tmp_path)
    (spec.hf_home / "hub").mkdir(parents=True)
    (spec.hf_home / "hub" / "shared.txt").write_text("from the host")
    sandbox = get_sandbox("podman", "img")
    sandbox.prepare_scratch(spec)
    merged = spec.scratch / "hf-merged"
    try:
        assert (merged / "hub" / "shared.txt").read_text() == "from the host"
        (merged / "hub" / "shared.txt").write_text("changed inside")
        (merged / "hub" / "added.txt").write_text("downloaded by the agent")
        assert (spec.hf_home / "hub" / "shared.txt").read_text() == "from the host"  # the host's cache is untouched
        assert not (spec.hf_home / "hub" / "added.txt").exists()
        additions = sandbox.cache_additions(spec)
        assert additions is not None and (additions / "hub" / "added.txt").read_text() == "downloaded by the agent"
    finally:
        sandbox.cleanup(spec)
    assert not spec.scratch.exists()


def test_the_agent_image_pins_what_ptb_pins() -> None:
    dockerfile = (TESTS.parent / "containers" / "agent.Dockerfile").read_text()
    installed = dict(re.findall(r"(@?[a-z][\w./-]*)@(\d[\w.]*)", dockerfile.split("npm install -g", 1)[1].splitlines()[0]))
    assert installed == {cls.npm_package: cls.pinned_version for cls in (ClaudeCodeAgent, CodexAgent, GeminiCliAgent, OpenCodeAgent)}
