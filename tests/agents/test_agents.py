"""Scaffold adapters: command lines, credentials and their isolation, trace parsing of each scaffold's real
output format, a whole trial with a stand-in CLI that stops early (re-prompt loop, redaction), and a whole
trial with the real Codex CLI from npm against a scripted Responses API server on loopback."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest

from conftest import TESTS, npm_cli, ptb
from fake_anthropic import FakeAnthropic, Turn, text, thinking, tool_use
from fake_gemini import Answer, FakeGemini, function_call
from fake_openai import FakeOpenAI, Reply, function_call_item, message_item, reasoning_item
from posttrainbench import api
from posttrainbench.agents import AgentContext, create_agent
from posttrainbench.agents.claude_code import ClaudeCodeAgent
from posttrainbench.agents.codex import CodexAgent
from posttrainbench.agents.gemini_cli import GeminiCliAgent
from posttrainbench.agents.opencode import OpenCodeAgent
from posttrainbench.agents.scaffold import ScaffoldAgent, env_prefix
from posttrainbench.config import EvalOverrides
from posttrainbench.errors import PtbError
from posttrainbench.trial.paths import RunPaths
from posttrainbench.results.schema import Result

TRACES = TESTS / "fixtures" / "traces"
CTX = AgentContext(workspace=Path("/w"), prompt="Train it.", prompt_file=Path("/w/prompt.txt"), base_model="Qwen/Qwen3-1.7B-Base",
                   base_model_path=Path("/m"), benchmark="gsm8k", hours=10)


@pytest.fixture
def no_host_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_OAUTH_TOKEN", "_AUTH_JSON")):
            monkeypatch.delenv(name)
    monkeypatch.delenv("PTB_SECRETS_DIR", raising=False)


# --- command lines -----------------------------------------------------------------------------------------

def test_each_scaffold_runs_headless_with_the_originals_flags(no_host_keys: None) -> None:
    claude = create_agent("claude-code", model="claude-opus-4-5", reasoning_effort="high")
    assert claude.command(CTX) == ["claude", "--print", "--verbose", "--model", "claude-opus-4-5", "--output-format", "stream-json",
                                   "--dangerously-skip-permissions", "--effort", "high", "Train it."]
    assert claude.environment(CTX)["BASH_MAX_TIMEOUT_MS"] == "36000000" and claude.environment(CTX)["IS_SANDBOX"] == "1"
    assert claude.resume_command("go on")[-2:] == ["--continue", "go on"]
    codex = create_agent("codex", model="gpt-5.3-codex", reasoning_effort="xhigh")
    assert codex.command(CTX) == ["codex", "--search", "exec", "--json", "-c", "model_reasoning_summary=detailed", "--skip-git-repo-check",
                                  "--dangerously-bypass-approvals-and-sandbox", "--model", "gpt-5.3-codex",
                                  "-c", "model_reasoning_effort=xhigh", "Train it."]
    assert codex.resume_command("go on")[:5] == ["codex", "--search", "exec", "resume", "--last"]
    gemini = create_agent("gemini-cli", model="gemini-3-pro-preview")
    assert gemini.command(CTX) == ["gemini", "--yolo", "--skip-trust", "--model", "gemini-3-pro-preview", "--output-format", "stream-json",
                                   "-p", "Train it."]
    assert gemini.environment(CTX)["GEMINI_SANDBOX"] == "false"
    assert json.loads(gemini.home_files(CTX)[".gemini/settings.json"])["security"]["auth"]["selectedType"] == "gemini-api-key"
    opencode = create_agent("opencode", model="anthropic/claude-opus-4-5")
    assert opencode.command(CTX) == ["opencode", "run", "--model", "anthropic/claude-opus-4-5", "--format", "json", "Train it."]
    assert json.loads(opencode.home_files(CTX)[".config/opencode/opencode.json"])["permission"] == "allow"


def test_custom_endpoints_and_bad_options(no_host_keys: None) -> None:
    glm = create_agent("claude-code", model="glm-5", base_url="https://api.z.ai/api/anthropic")
    env = glm.environment(CTX)
    assert env["ANTHROPIC_BASE_URL"] == "https://api.z.ai/api/anthropic" and env["ANTHROPIC_MODEL"] == env["ANTHROPIC_SMALL_FAST_MODEL"] == "glm-5"
    codex = create_agent("codex", model="qwen", base_url="http://127.0.0.1:9/v1")
    config = tomllib.loads(codex.home_files(CTX)[".codex/config.toml"])  # codex ignores OPENAI_BASE_URL
    assert config["model_provider"] == "ptb" and config["model_providers"]["ptb"]["base_url"] == "http://127.0.0.1:9/v1"
    assert config["model_providers"]["ptb"]["wire_api"] == "responses" and config["shell_environment_policy"]["inherit"] == "all"
    local = create_agent("opencode", model="my-model", base_url="http://127.0.0.1:9/v1")
    assert local.command(CTX)[3] == "ptb/my-model"
    assert json.loads(local.home_files(CTX)[".config/opencode/opencode.json"])["provider"]["ptb"]["options"]["baseURL"] == "http://127.0.0.1:9/v1"
    with pytest.raises(PtbError, match="needs --agent-model"):
        create_agent("codex")
    with pytest.raises(PtbError, match="no such setting"):
        create_agent("gemini-cli", model="g", reasoning_effort="high")
    with pytest.raises(PtbError, match="agent 'copy-base'"):
        create_agent("copy-base", model="x")


def test_reprompt_only_with_enough_time_left_and_at_most_max_times(no_host_keys: None) -> None:
    codex = create_agent("codex", model="m", reprompt=True, reprompt_min_minutes=30)
    argv = codex.reprompt_command(2 * 3600 + 5 * 60 + 30, resumes=7)
    assert argv is not None and argv[-1].startswith("You still have 2h 5m remaining.")
    assert codex.reprompt_command(29 * 60, resumes=0) is None
    assert create_agent("codex", model="m").reprompt_command(5 * 3600, resumes=0) is None  # off unless asked for
    capped = create_agent("codex", model="m", reprompt=True, max_reprompts=2)
    assert capped.reprompt_command(5 * 3600, resumes=1) is not None and capped.reprompt_command(5 * 3600, resumes=2) is None
    bad = ptb("run", "--agent", "codex", "--agent-model", "m", "--model", "x", "--benchmark", "gsm8k", "--max-reprompts", "2")
    assert bad.returncode == 2 and "--max-reprompts needs --reprompt" in bad.stderr


HELP_COMMANDS = {  # where each pinned CLI documents the flags our command lines use
    "claude-code": [["--help"]],
    "codex": [["--help"], ["exec", "--help"], ["exec", "resume", "--help"]],
    "gemini-cli": [["--help"]],
    "opencode": [["run", "--help"]],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HELP_COMMANDS))
def test_pinned_cli_from_npm_knows_every_flag_we_pass(name: str, no_host_keys: None) -> None:
    agent = create_agent(name, model="m", reasoning_effort={"claude-code": "xhigh", "codex": "high"}.get(name))
    cls = type(agent)
    binary = npm_cli(cls.npm_package, cls.pinned_version, cls.binary) / cls.binary
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=120)
    assert cls.pinned_version in version.stdout, version.stdout + version.stderr
    helps = [subprocess.run([binary, *args], capture_output=True, text=True, timeout=120) for args in HELP_COMMANDS[name]]
    documented = "".join(proc.stdout + proc.stderr for proc in helps)  # opencode prints its help on stderr
    flags = {arg for arg in (*agent.command(CTX), *agent.resume_command("go on")) if arg.startswith("-")}
    assert flags and not {flag for flag in flags if flag not in documented}


# --- credentials -------------------------------------------------------------------------------------------

def test_each_agent_gets_only_its_own_credentials(no_host_keys: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    (secrets / "codex").mkdir(parents=True)
    (secrets / "codex" / "auth.json").write_text('{"tokens": {"access_token": "chatgpt-token-123456"}}')
    (secrets / "claude-code").mkdir()
    (secrets / "claude-code" / "oauth_token").write_text("sk-ant-oat01-subscription\n")
    monkeypatch.setenv("PTB_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("PTB_CODEX_OPENAI_API_KEY", "sk-codex-only-0001")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-host-key-0002")

    codex = create_agent("codex", model="m")
    env, files = codex.environment(CTX), codex.home_files(CTX)
    assert env["OPENAI_API_KEY"] == "sk-codex-only-0001"
    assert files[".codex/auth.json"].startswith('{"tokens"')
    assert not {"GEMINI_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY"} & set(env)
    assert set(codex.redactions()) >= {"sk-codex-only-0001", files[".codex/auth.json"]}
    claude_env = create_agent("claude-code", model="m").environment(CTX)
    assert claude_env["CLAUDE_CODE_OAUTH_TOKEN"] == "sk-ant-oat01-subscription"
    assert "OPENAI_API_KEY" not in claude_env and "GEMINI_API_KEY" not in claude_env
    assert create_agent("gemini-cli", model="m").environment(CTX)["GEMINI_API_KEY"] == "gemini-host-key-0002"
    monkeypatch.delenv("GEMINI_API_KEY")
    assert GeminiCliAgent.credentials().env == {}


# --- trace parsing -----------------------------------------------------------------------------------------

def kinds(trace) -> list[str]:  # type: ignore[no-untyped-def]
    return [event.kind for event in trace.events]


def test_claude_code_trace() -> None:
    trace = ClaudeCodeAgent.parse((TRACES / "claude-code.jsonl").read_text())
    assert kinds(trace) == ["other", "reasoning", "tool_call", "tool_result", "other", "message", "tool_result", "other", "usage", "other"]
    call, result = trace.events[2], trace.events[3]
    assert (call.tool, call.command, result.call_id, result.tool, result.is_error) == ("Bash", "nvidia-smi && ls", "toolu_01", "Bash", False)
    assert trace.events[6].is_error and trace.events[6].output == "Error: file not found"
    assert trace.events[-1].text.startswith('{"type":"assistant"')  # the truncated last line is kept as text
    # usage from the result event, not the repeated per-block usage: 17 + 3000 + 3000 prompt tokens
    assert trace.usage.model_dump() == {"input_tokens": 6017, "output_tokens": 55, "cached_input_tokens": 3000, "reasoning_tokens": None, "cost_usd": 0.0421}
    assert (trace.model, trace.session_id) == ("claude-sonnet-4-5-20250929", "5f0c2a9e-1d2b-4c61-9a77-3f1b2f7f0a01")
    # A resumed run (--continue) in the same log: tokens add up, total_cost_usd is the session's running total.
    resumed = ClaudeCodeAgent.parse((TRACES / "claude-code.jsonl").read_text() * 2)
    assert (resumed.usage.input_tokens, resumed.usage.output_tokens, resumed.usage.cost_usd) == (12034, 110, 0.0421)


def test_codex_trace_current_vocabulary() -> None:
    trace = CodexAgent.parse((TRACES / "codex.jsonl").read_text())
    calls = [e for e in trace.events if e.kind == "tool_call"]
    results = [e for e in trace.events if e.kind == "tool_result"]
    assert [c.call_id for c in calls] == ["item_1", "item_2", "item_3"]  # started + updated + completed = one call
    assert [(r.exit_code, r.is_error) for r in results] == [(0, None), (1, True), (None, None)]
    assert results[0].output == "total 8\nevaluate.py\ntimer.sh\n"
    assert [e.text for e in trace.events if e.kind == "error"] == ["stream disconnected before completion", "Rate limit reached"]
    assert trace.usage.model_dump() == {"input_tokens": 25763, "output_tokens": 132, "cached_input_tokens": 24448, "reasoning_tokens": 64, "cost_usd": None}
    assert sum(1 for e in trace.events if e.kind == "other" and e.raw is None) == 2  # garbage and the truncated line
    # Token counts are running totals per session: the resumed thread's last report counts, other threads add up.
    other_thread = ('{"type":"thread.started","thread_id":"t-2"}\n'
                    '{"type":"turn.completed","usage":{"input_tokens":7,"cached_input_tokens":0,"output_tokens":3}}\n')
    both = CodexAgent.parse((TRACES / "codex.jsonl").read_text() + "\n" + other_thread)
    assert (both.usage.input_tokens, both.usage.output_tokens) == (25770, 135)


def test_codex_trace_older_vocabulary_with_log_timestamps() -> None:
    trace = CodexAgent.parse((TRACES / "codex-legacy.jsonl").read_text())
    assert kinds(trace) == ["other", "reasoning", "tool_call", "tool_result", "usage", "tool_call", "tool_result", "message", "usage", "other"]
    assert trace.events[2].command == "bash -lc nvidia-smi"
    assert trace.events[3].output == "NVIDIA H100"  # folded from the output deltas
    assert trace.events[-1].raw["type"] == "background_event"  # unknown, kept
    # running totals: the last token_count counts
    assert trace.usage.model_dump() == {"input_tokens": 9000, "output_tokens": 300, "cached_input_tokens": 7000, "reasoning_tokens": 120, "cost_usd": None}
    assert trace.model == "gpt-5-codex"


def test_gemini_cli_trace() -> None:
    trace = GeminiCliAgent.parse((TRACES / "gemini-cli.jsonl").read_text())
    messages = [(e.role, e.text) for e in trace.events if e.kind == "message"]
    assert messages == [("user", "Train the model."), ("assistant", "I'll start by checking the GPU."), ("assistant", "Saved final_model.")]
    results = [e for e in trace.events if e.kind == "tool_result"]
    assert [(r.tool, r.is_error, r.output) for r in results] == [("run_shell_command", False, "NVIDIA H100 80GB HBM3"), ("read_file", True, "File not found")]
    assert trace.usage.model_dump() == {"input_tokens": 15000, "output_tokens": 300, "cached_input_tokens": 9000, "reasoning_tokens": 0, "cost_usd": None}
    assert trace.events[-1].raw["type"] == "future_event"


def test_opencode_trace() -> None:
    trace = OpenCodeAgent.parse((TRACES / "opencode.jsonl").read_text())
    assert kinds(trace) == ["message", "tool_call", "tool_result", "usage", "tool_call", "tool_result", "error", "usage", "other", "other"]
    assert (trace.events[2].exit_code, trace.events[2].output) == (0, "NVIDIA H100 80GB HBM3")
    assert trace.events[5].is_error and trace.events[5].output == "File not found"
    assert trace.events[6].text == "APIError: overloaded"
    # input = fresh + cache read + cache write, summed over steps; cost summed
    assert trace.usage.input_tokens == 1200 + 3000 + 500 + 300 + 4000
    assert trace.usage.cost_usd == pytest.approx(0.02)
    assert (trace.usage.output_tokens, trace.usage.reasoning_tokens) == (80 + 20 + 40, 20)  # reasoning counts as output
    assert trace.events[1].time == "2026-11-28T10:00:02+00:00"  # epoch ms 1795860002000 (date -u -d @1795860002)


def test_ptb_trace_prints_events_and_usage(tmp_path: Path) -> None:
    proc = ptb("trace", "codex", str(TRACES / "codex.jsonl"), "--json")
    assert proc.returncode == 0, proc.stderr
    parsed = json.loads(proc.stdout)
    assert {e["kind"] for e in parsed["events"]} <= {"message", "reasoning", "tool_call", "tool_result", "error", "usage", "other"}
    assert set(parsed["usage"]) == {"input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens", "cost_usd"}
    text = ptb("trace", "opencode", str(TRACES / "opencode.jsonl")).stdout
    assert "TOOL bash: $ nvidia-smi" in text and "ERROR: APIError: overloaded" in text
    bad = ptb("trace", "copy-base", str(TRACES / "codex.jsonl"))
    assert bad.returncode == 2 and "no trace parser for 'copy-base'" in bad.stderr


def test_cost_from_the_scaffold_else_the_price_table(tmp_path: Path) -> None:
    def usage(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        proc = ptb("trace", *args, "--json", env=env)
        assert proc.returncode == 0, proc.stderr
        parsed = json.loads(proc.stdout)
        return {**parsed["usage"], "source": parsed["cost_source"]}

    # gpt-5.3-codex: $1.75 fresh input, $0.175 cached, $14 output per million tokens;
    # (25763 - 24448) * 1.75 + 24448 * 0.175 + 132 * 14 = 8427.65 micro-dollars
    assert usage("codex", str(TRACES / "codex.jsonl"), "--agent-model", "gpt-5.3-codex")["cost_usd"] == 0.008428
    assert usage("codex", str(TRACES / "codex.jsonl"))["source"] is None  # no model, no price: null, never a guess
    assert usage("codex", str(TRACES / "codex.jsonl"), "--agent-model", "unknown-model")["cost_usd"] is None
    claude = usage("claude-code", str(TRACES / "claude-code.jsonl"), "--agent-model", "gpt-5.3-codex")
    assert (claude["cost_usd"], claude["source"]) == (0.0421, "scaffold")  # the scaffold's own figure wins
    table = tmp_path / "prices.toml"
    table.write_text('[models."gpt-5.3-codex"]\ninput = 2.0\noutput = 10.0\n')  # no cached price: cache reads at the input rate
    mine = usage("codex", str(TRACES / "codex.jsonl"), "--agent-model", "gpt-5.3-codex", env={"PTB_PRICES": str(table)})
    assert (mine["cost_usd"], mine["source"]) == (round((25763 * 2.0 + 132 * 10.0) / 1e6, 6), "price table")
    table.write_text('[models."x"]\ninput = "cheap"\n')
    bad = ptb("trace", "codex", str(TRACES / "codex.jsonl"), "--agent-model", "x", env={"PTB_PRICES": str(table)})
    assert bad.returncode == 2 and "not a price table" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


# --- a whole trial with a stand-in CLI -----------------------------------------------------------------------

FAKE_CODEX = r"""#!/bin/bash
# Stands in for the codex CLI: prints codex's JSON events (usage as the session's running total, as codex
# does), leaks its key on purpose, stops early.
test -d final_model || cp -r "$PTB_BASE_MODEL_PATH" final_model
echo '{"type":"thread.started","thread_id":"t-1"}'
echo "{\"type\":\"item.completed\",\"item\":{\"id\":\"m\",\"type\":\"agent_message\",\"text\":\"key=$OPENAI_API_KEY anthropic=${ANTHROPIC_API_KEY:-none} args=$*\"}}"
echo '{"type":"item.completed","item":{"id":"c","type":"command_execution","command":"ls","aggregated_output":"x","exit_code":0,"status":"completed"}}'
launches=$(( $(cat "$HOME/launches" 2>/dev/null || echo 0) + 1 )); echo "$launches" > "$HOME/launches"
echo "{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":$((100 * launches)),\"cached_input_tokens\":40,\"output_tokens\":10}}"
test -f "$HOME/.codex/config.toml" && echo "config present"
sleep 4
"""


@pytest.mark.requires_bwrap
@pytest.mark.slow
def test_trial_with_a_cli_that_stops_early_is_resumed_and_its_key_redacted(
        tiny_model: Path, demo_gsm8k: Path, isolated_env: Path, no_host_keys: None, monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> None:
    # Not under /tmp: the sandbox gives the agent a private /tmp, as it would hide a CLI installed there.
    bin_dir = Path(tempfile.mkdtemp(prefix="ptb-fake-cli-", dir="/var/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(bin_dir, ignore_errors=True))
    fake = bin_dir / "codex"
    fake.write_text(FAKE_CODEX)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("PTB_CODEX_OPENAI_API_KEY", "sk-test-secret-value-42")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-must-not-leak")
    config = api.make_config(
        agent="codex", agent_args={"model": "gpt-test", "reprompt": True, "reprompt_min_minutes": 0.25}, model=str(tiny_model),
        family="qwen3", benchmark="gsm8k", hours=0.01, device="cpu", sandbox="bubblewrap",
        evaluation=EvalOverrides(limit=2, max_tokens=[8], data=str(demo_gsm8k)), grace_minutes=0.5,
    )
    result = api.run(config)
    paths = RunPaths(isolated_env / "results" / result.run_id)
    assert result.status == "success", result.error
    agent = {"reprompts": [r.model_dump() for r in result.solve.reprompts], "trace": result.trace.model_dump()}
    # 36 s budget, a launch takes about 4 s, resumed while at least 15 s are left
    assert 2 <= len(agent["reprompts"]) <= 6
    assert all(r["remaining_seconds"] >= 15 and r["message"].startswith("You still have 0h 0m remaining") for r in agent["reprompts"])
    launches = len(agent["reprompts"]) + 1
    assert agent["trace"]["usage"]["input_tokens"] == 100 * launches and agent["trace"]["tool_calls"] == launches
    log = paths.output_log.read_text()
    assert "sk-test-secret-value-42" not in log and "key=[redacted] anthropic=none" in log
    assert log.count("args=--search exec resume --last") == launches - 1 and "config present" in log
    events = [json.loads(line) for line in (paths.agent_dir / "events.jsonl").read_text().splitlines()]
    assert sum(1 for e in events if e["kind"] == "tool_call") == launches
    assert "sk-test-secret-value-42" not in paths.result.read_text()
    assert "ASSISTANT: key=[redacted]" in (paths.agent_dir / "transcript.txt").read_text()


# --- real scaffold CLIs against scripted model servers on loopback -------------------------------------------

def use_pinned_cli(cls: type[ScaffoldAgent], secret: str, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the pinned CLI, installed from npm, first on PATH, and give the agent ``key`` as its ``secret``."""
    bin_dir = npm_cli(cls.npm_package, cls.pinned_version, cls.binary)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv(f"PTB_{env_prefix(cls.name)}_{secret}", key)


def scaffold_trial(agent: str, model: str, base_url: str, key: str, tiny_model: Path, demo_gsm8k: Path,
                   root: Path) -> tuple[Result, RunPaths, list[dict[str, Any]]]:
    """A whole bubblewrap trial of ``agent`` (resumed once), checked through evaluation; the CLI is the pinned one.
    The budget (3 min) leaves room for a slow first start; the agent stops long before it. Checks what every
    scaffold shares (one resume stating the time left, the key in no written file); returns the trial's events."""
    config = api.make_config(
        agent=agent, model=str(tiny_model), family="qwen3", benchmark="gsm8k", hours=0.05, device="cpu", sandbox="bubblewrap",
        agent_args={"model": model, "base_url": base_url, "reprompt": True, "reprompt_min_minutes": 0.1, "max_reprompts": 1},
        evaluation=EvalOverrides(limit=2, max_tokens=[8], data=str(demo_gsm8k)), grace_minutes=0.5,
    )
    result = api.run(config)
    paths = RunPaths(root / "results" / result.run_id)
    assert result.status == "success", (result.error, paths.output_log.read_text()[-3000:] if paths.output_log.exists() else "")
    assert result.submitted and result.metrics is not None
    preflight = json.loads(paths.stage_marker("preflight").read_text())["record"]
    pinned = type(create_agent(agent, model=model)).pinned_version
    assert preflight["agent_cli_version"] == pinned and preflight["agent_version_note"] is None
    assert [r["message"][:18] for r in [r.model_dump() for r in result.solve.reprompts]] == ["You still have 0h "]
    for written in (paths.output_log.read_text(), paths.result.read_text(), (paths.agent_dir / "transcript.txt").read_text()):
        assert key not in written
    return result, paths, [json.loads(line) for line in (paths.agent_dir / "events.jsonl").read_text().splitlines()]


def first_call_and_output(events: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    return next(e for e in events if e["kind"] == "tool_call"), next(e for e in events if e["kind"] == "tool_result")


COPY_COMMAND = 'cp -r "$PTB_BASE_MODEL_PATH" final_model && ls final_model'


def scripted_codex_session(body: dict[str, Any]) -> Reply:
    """Turn 1: copy the base model to final_model; turn 2: report; after a resume: nothing more to do."""
    user_texts = [part.get("text", "") for item in body["input"] if item.get("role") == "user" for part in item.get("content", [])]
    if user_texts[-1].startswith("You still have"):
        return Reply(items=[message_item("final_model is in place; nothing more to do.")],
                     usage={"input_tokens": 2000, "cached_tokens": 1500, "output_tokens": 8, "reasoning_tokens": 0})
    if not any(item.get("type") == "function_call_output" for item in body["input"]):
        return Reply(items=[reasoning_item("Submitting the base model is the safe first step."), function_call_item("exec_command", {"cmd": COPY_COMMAND})],
                     usage={"input_tokens": 1000, "cached_tokens": 200, "output_tokens": 50, "reasoning_tokens": 20})
    return Reply(items=[message_item("Copied the base model to final_model.")],
                 usage={"input_tokens": 1500, "cached_tokens": 1000, "output_tokens": 10, "reasoning_tokens": 0})


@pytest.mark.requires_bwrap
@pytest.mark.slow
def test_real_codex_cli_runs_a_trial_against_a_loopback_responses_server(
        tiny_model: Path, demo_gsm8k: Path, isolated_env: Path, no_host_keys: None, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-loopback-secret-key-1234"
    use_pinned_cli(CodexAgent, "OPENAI_API_KEY", key, monkeypatch)
    prices = isolated_env / "prices.toml"
    prices.write_text('[models."gpt-test"]\ninput = 1.0\ncached_input = 0.1\noutput = 10.0\n')
    monkeypatch.setenv("PTB_PRICES", str(prices))
    with FakeOpenAI(scripted_codex_session, api_key=key) as server:
        result, paths, events = scaffold_trial("codex", "gpt-test", server.base_url, key, tiny_model, demo_gsm8k, isolated_env)
    # The server saw the whole session: the command ran in the sandbox, then one resume stating the time left.
    assert len(server.requests) == 3 and {r["model"] for r in server.requests} == {"gpt-test"}
    outputs = [item["output"] for item in server.requests[1]["input"] if item.get("type") == "function_call_output"]
    assert len(outputs) == 1 and "config.json" in outputs[0] and "exited with code 0" in outputs[0]
    # Trace and usage come from codex's own output: running totals per thread, the resumed thread's last counts.
    trace = result.trace.model_dump()
    # priced from the user's table: (4500 - 2700) * 1.0 + 2700 * 0.1 + 68 * 10.0 = 2750 micro-dollars
    assert trace["usage"] == {"input_tokens": 4500, "output_tokens": 68, "cached_input_tokens": 2700, "reasoning_tokens": 20, "cost_usd": 0.00275}
    assert (trace["cost_source"], trace["model"]) == ("price table", "gpt-test")
    assert (trace["tool_calls"], trace["turns"]) == (1, 2) and trace["session_id"]
    call, output = first_call_and_output(events)
    assert COPY_COMMAND in call["command"] and output["exit_code"] == 0 and "config.json" in output["output"]
    assert [e["text"] for e in events if e["kind"] == "reasoning"] == ["Submitting the base model is the safe first step."]
    transcript = (paths.agent_dir / "transcript.txt").read_text()
    assert "ASSISTANT: Copied the base model to final_model." in transcript and "nothing more to do" in transcript



def scripted_claude_session(body: dict[str, Any]) -> Turn:
    """Turn 1: think, then Bash to copy the base model; turn 2: report; after a resume: nothing more to do."""
    last = next(m for m in reversed(body["messages"]) if m["role"] == "user")
    blocks = last["content"] if isinstance(last["content"], list) else [{"type": "text", "text": last["content"]}]
    if any(b.get("type") == "tool_result" for b in blocks):
        return Turn([text("Copied the base model to final_model.")], input_tokens=300, cache_read_input_tokens=1000, output_tokens=12)
    if any("You still have" in b.get("text", "") for b in blocks):
        return Turn([text("final_model is in place; nothing more to do.")], input_tokens=50, cache_read_input_tokens=1500, output_tokens=6)
    return Turn([thinking("Submitting the base model is the safe first step."), tool_use("Bash", {"command": COPY_COMMAND, "description": "copy"})],
                input_tokens=1000, output_tokens=40)


@pytest.mark.requires_bwrap
@pytest.mark.slow
def test_real_claude_code_runs_a_trial_against_a_loopback_messages_server(
        tiny_model: Path, demo_gsm8k: Path, isolated_env: Path, no_host_keys: None, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-ant-loopback-secret-5678"
    use_pinned_cli(ClaudeCodeAgent, "ANTHROPIC_API_KEY", key, monkeypatch)
    with FakeAnthropic(scripted_claude_session, api_key=key) as server:
        # the agent is uid 0 in the sandbox: without IS_SANDBOX=1 Claude Code would refuse to start at all
        result, paths, events = scaffold_trial("claude-code", "test-model", server.base_url, key, tiny_model, demo_gsm8k, isolated_env)
    assert len(server.requests) == 3 and {r["model"] for r in server.requests} == {"test-model"}
    outputs = [b for b in server.requests[1]["messages"][-1]["content"] if b.get("type") == "tool_result"]
    assert len(outputs) == 1 and "config.json" in str(outputs[0]["content"]) and not outputs[0].get("is_error")
    # Usage from Claude Code's own result events: each run's tokens add up (fresh + cache reads count as input).
    trace = result.trace.model_dump()
    usage = trace["usage"]
    assert (usage["input_tokens"], usage["cached_input_tokens"], usage["output_tokens"]) == (1300 + 1000 + 50 + 1500, 2500, 58)
    assert trace["cost_source"] == "scaffold" and usage["cost_usd"] > 0  # Claude Code's own estimate, its session total
    assert (trace["tool_calls"], trace["turns"]) == (1, 2) and trace["session_id"]
    call, output = first_call_and_output(events)
    assert (call["tool"], call["command"]) == ("Bash", COPY_COMMAND) and "config.json" in output["output"] and not output["is_error"]
    assert [e["text"] for e in events if e["kind"] == "reasoning"] == ["Submitting the base model is the safe first step."]


def scripted_gemini_session(body: dict[str, Any]) -> Answer:
    """Turn 1: run_shell_command to copy the base model; turn 2: report; after a resume: nothing more to do."""
    parts = body["contents"][-1].get("parts", [])
    if any("functionResponse" in part for part in parts):
        return Answer([{"text": "Copied the base model to final_model."}], prompt_tokens=1500, cached_tokens=1000, output_tokens=12)
    if any("You still have" in part.get("text", "") for part in parts):
        return Answer([{"text": "final_model is in place; nothing more to do."}], prompt_tokens=1600, cached_tokens=1500, output_tokens=6)
    return Answer([function_call("run_shell_command", {"command": COPY_COMMAND, "description": "copy the base model"})],
                  prompt_tokens=1000, output_tokens=40, thoughts_tokens=20)


@pytest.mark.requires_bwrap
@pytest.mark.slow
def test_real_gemini_cli_runs_a_trial_against_a_loopback_gemini_server(
        tiny_model: Path, demo_gsm8k: Path, isolated_env: Path, no_host_keys: None, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "gem-loopback-secret-9012"
    use_pinned_cli(GeminiCliAgent, "GEMINI_API_KEY", key, monkeypatch)
    with FakeGemini(scripted_gemini_session, api_key=key) as server:
        # without --skip-trust and the auth type in settings.json, the CLI asks for approval or stops
        result, paths, events = scaffold_trial("gemini-cli", "test-model", server.base_url, key, tiny_model, demo_gsm8k, isolated_env)
    assert len(server.requests) == 3
    responses = [part["functionResponse"] for part in server.requests[1]["contents"][-1]["parts"] if "functionResponse" in part]
    assert len(responses) == 1 and "config.json" in json.dumps(responses[0])
    # Each run's result counts that run; thinking tokens (20) are output too.
    usage = result.trace.usage.model_dump()
    assert (usage["input_tokens"], usage["cached_input_tokens"], usage["output_tokens"], usage["reasoning_tokens"]) == (4100, 2500, 78, 20)
    call, output = first_call_and_output(events)
    assert (call["tool"], call["command"]) == ("run_shell_command", COPY_COMMAND) and "config.json" in output["output"] and not output["is_error"]


def scripted_opencode_session(body: dict[str, Any]) -> Reply:
    """A request without tools is OpenCode's title request. Turn 1: bash to copy the base model; turn 2: report;
    after a resume: nothing more to do."""
    last = body["messages"][-1]
    if not body.get("tools"):
        return Reply(items=[message_item("Copy the base model")])
    if last["role"] == "tool":
        return Reply(items=[message_item("Copied the base model to final_model.")],
                     usage={"input_tokens": 1500, "cached_tokens": 1000, "output_tokens": 12, "reasoning_tokens": 0})
    if "You still have" in json.dumps(last):
        return Reply(items=[message_item("final_model is in place; nothing more to do.")],
                     usage={"input_tokens": 1600, "cached_tokens": 1500, "output_tokens": 6, "reasoning_tokens": 0})
    return Reply(items=[function_call_item("bash", {"command": COPY_COMMAND, "description": "copy the base model"})],
                 usage={"input_tokens": 1000, "cached_tokens": 0, "output_tokens": 40, "reasoning_tokens": 10})


@pytest.mark.requires_bwrap
@pytest.mark.slow
def test_real_opencode_runs_a_trial_against_a_loopback_chat_completions_server(
        tiny_model: Path, demo_gsm8k: Path, isolated_env: Path, no_host_keys: None, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "oc-loopback-secret-3456"
    use_pinned_cli(OpenCodeAgent, "OPENAI_API_KEY", key, monkeypatch)
    with FakeOpenAI(scripted_opencode_session, api_key=key) as server:
        # OpenCode installs its provider package (@ai-sdk/openai-compatible) from npm inside the sandbox
        result, paths, events = scaffold_trial("opencode", "test-model", server.base_url, key, tiny_model, demo_gsm8k, isolated_env)
    main = [r for r in server.requests if r.get("tools")]
    assert len(main) == 3 and {r["model"] for r in server.requests} == {"test-model"}
    tool_outputs = [m["content"] for m in main[1]["messages"] if m["role"] == "tool"]
    assert len(tool_outputs) == 1 and "config.json" in json.dumps(tool_outputs[0])
    usage = result.trace.usage.model_dump()
    assert (usage["input_tokens"], usage["cached_input_tokens"], usage["output_tokens"], usage["reasoning_tokens"]) == (4100, 2500, 58, 10)
    # OpenCode says $0 for a model it has no price for: that is unknown (no price table row either), not free
    assert usage["cost_usd"] is None and result.trace.cost_source is None
    call, output = first_call_and_output(events)
    assert (call["tool"], call["command"]) == ("bash", COPY_COMMAND) and "config.json" in output["output"] and not output.get("is_error")
