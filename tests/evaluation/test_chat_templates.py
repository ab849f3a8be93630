"""The chat template of an evaluation: the original's file by default, fetched and checked by SHA-256; the
project's own as a named option. Renderings are compared with the original's (``upstream_renderings.py``)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from posttrainbench.errors import PtbError
from posttrainbench.evaluation.chat_templates import FETCH_FOLDER, UPSTREAM, chat_template, default_source, upstream_file
from posttrainbench.evaluation.sources import UrlSource, fetched_path
from upstream_renderings import FUNCTIONS, MESSAGES, RECORDED, render, sha256

ORIGINAL_FILES = os.environ.get("PTB_UPSTREAM_TEMPLATES")
"""A folder with the original's four template files (see ``upstream_renderings.py``): they cannot be fetched
where only package registries are reachable, so the rendering comparison runs where this is set."""


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_CHAT_TEMPLATE", "upstream")


def test_the_original_template_is_the_default_and_must_be_fetched(upstream: None) -> None:
    assert default_source() == "upstream"
    with pytest.raises(PtbError, match=r"original's qwen3.jinja, not fetched yet: run `ptb data fetch`.*--chat-template project"):
        chat_template("qwen3")


def test_a_template_file_that_differs_from_the_pinned_one_is_refused(upstream: None) -> None:
    target = fetched_path(FETCH_FOLDER, UPSTREAM[("gemma3", False)])
    target.parent.mkdir(parents=True)
    target.write_text("{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}")
    with pytest.raises(PtbError, match="gemma3.jinja .* has SHA-256 .* not the pinned 7de1c58e208e"):
        chat_template("gemma3")


def test_each_family_maps_to_the_original_file_and_gemma_has_its_own_for_tools() -> None:
    assert upstream_file("qwen3", tools=True).filename == "qwen3.jinja"
    assert upstream_file("smollm3", tools=False).filename == "smollm.jinja"
    assert upstream_file("gemma3", tools=False).filename == "gemma3.jinja"
    assert upstream_file("gemma3", tools=True).filename == "gemma3_tool_calling.jinja"
    assert all(source.url.startswith("https://raw.githubusercontent.com/aisa-group/PostTrainBench/9082063a")
               for source in UPSTREAM.values())


def test_the_project_templates_are_a_named_option() -> None:
    template = chat_template("smollm3", "project")
    assert (template.source, template.origin) == ("project", "posttrainbench catalog/templates/smollm3.jinja")
    with pytest.raises(PtbError, match="unknown chat template source 'mine'; choose upstream or project"):
        chat_template("qwen3", "mine")
    with pytest.raises(PtbError, match="unknown"):
        chat_template("llama3", "upstream")


def test_data_fetch_downloads_the_templates_checks_them_and_evaluations_read_them(
        file_server: tuple[Path, str], upstream: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from posttrainbench import datafetch

    folder, url = file_server
    text = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>"
    (folder / "qwen3.jinja").write_text(text)
    (folder / "smollm.jinja").write_text("changed upstream")
    digest = sha256(text)
    for key in list(UPSTREAM):  # stand-ins on a loopback server for the original's files
        name = UPSTREAM[key].filename
        monkeypatch.setitem(UPSTREAM, key, UrlSource(f"{url}/{name}", name, digest))
    monkeypatch.setattr(datafetch, "get_benchmark", lambda benchmark: type("Spec", (), {"sources": {}})())
    manifest = datafetch.fetch(["gsm8k"], models=False, progress=lambda line: None)
    fetched = [entry["files"] for entry in manifest["entries"] if entry["kind"] == "chat template"]
    assert fetched == [{"qwen3.jinja": digest}]
    failed = {failure["chat_template"]: failure["error"] for failure in manifest["failures"]}
    assert "does not match the pinned" in failed["smollm.jinja"] and "404" in failed["gemma3.jinja"]
    assert not fetched_path(FETCH_FOLDER, UPSTREAM[("smollm3", False)]).exists()  # a wrong file is not kept
    template = chat_template("qwen3")
    assert (template.text, template.source, template.origin) == (text, "upstream", f"{url}/qwen3.jinja")
    assert datafetch.verify() == [f"fetch failed: {failure}" for failure in manifest["failures"]]


@pytest.mark.skipif(not ORIGINAL_FILES, reason="PTB_UPSTREAM_TEMPLATES (the original's four template files) not set")
@pytest.mark.parametrize("family", ["qwen3", "smollm3", "gemma3"])
@pytest.mark.parametrize("benchmark", sorted(MESSAGES))
def test_the_prompt_renders_as_the_original_renders_it(family: str, benchmark: str, upstream: None) -> None:
    from inspect_ai.tool import ToolInfo

    from posttrainbench.evaluation.backends.hf_provider import openai_tool

    for source in UPSTREAM.values():  # as `ptb data fetch` leaves them
        target = fetched_path(FETCH_FOLDER, source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(str(ORIGINAL_FILES)) / source.filename, target)
    tools = [openai_tool(ToolInfo.model_validate(function)) for function in FUNCTIONS] if benchmark == "bfcl" else None
    template = chat_template(family, tools=tools is not None)
    rendered = render(template.text, family, MESSAGES[benchmark], tools)
    assert sha256(rendered) == json.loads(RECORDED.read_text())[f"{family}/{benchmark}"]


def test_a_trial_whose_templates_are_not_fetched_stops_before_it_starts(tiny_model: Path, tmp_path: Path) -> None:
    from conftest import ptb

    env = {**os.environ, "PTB_CHAT_TEMPLATE": "upstream"}
    proc = ptb("run", "--agent", "copy-base", "--model", str(tiny_model), "--family", "qwen3", "--benchmark", "gsm8k",
               "--hours", "0.1", "--device", "cpu", "--sandbox", "none", env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "original's qwen3.jinja, not fetched yet: run `ptb data fetch`" in proc.stderr
    assert not any((tmp_path / "results").glob("*/config.json"))  # no run directory was made
