"""The HTML report opened in a real headless Chromium: rows and values, the base-model filter, a run page
opened from the table, no network request, and a screenshot kept as a test artifact."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import TESTS, ptb
from upstream_tree import W_GSM8K, expected_seed_scores, run_folder, upstream_tree

TRACES = TESTS / "fixtures" / "traces"
ARTIFACTS = Path(os.environ.get("PTB_TEST_ARTIFACTS", TESTS.parent / "test-artifacts"))
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            raise RuntimeError("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium not installed")
    return path


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    source, results = tmp_path / "upstream", tmp_path / "results"
    upstream_tree(source)
    # a Codex run whose raw output is a real-format trace: its page shows a timeline and a transcript
    run_folder(source, "codex_gpt-5.3-codex_10h", "gsm8k_Qwen_Qwen3-1.7B-Base_400", 0.65)
    shutil.copyfile(TRACES / "codex.jsonl", source / "codex_gpt-5.3-codex_10h" / "gsm8k_Qwen_Qwen3-1.7B-Base_400" / "solve_out.txt")
    assert ptb("import", "upstream", str(source), "--results", str(results)).returncode == 0
    proc = ptb("report", "--results", str(results), "--format", "html", "--out", str(tmp_path / "site"), "--published")
    assert proc.returncode == 0, proc.stderr
    index = Path(proc.stdout.strip())
    assert index == tmp_path / "site" / "index.html" and (tmp_path / "site" / "runs").is_dir()
    return tmp_path / "site"


@pytest.mark.slow
def test_html_report_in_headless_chromium(report_dir: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda request: requests.append(request.url))
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto((report_dir / "index.html").as_uri())

        def board() -> dict[str, list[str]]:
            rows = page.locator("#leaderboard tr.row")
            return {rows.nth(i).get_attribute("data-name") or "": rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())}

        seed1, seed2 = expected_seed_scores()
        rows = board()
        opus = rows["claude_claude-opus-4-6_10h"]
        assert opus[2] == f"{100 * (seed1 + seed2) / 2:.1f} ± {100 * abs(seed1 - seed2) / 2 ** 0.5:.1f}" and opus[3] == "2"
        assert rows["Official instruct models (published)"][2] == "51.1"
        gsm8k_column = 4 + list(get_benchmark_ids()).index("gsm8k")
        assert opus[gsm8k_column] == f"{100 * (0.5 + 0.3 + 0.7 + 0.4) / 4:.1f}"
        assert "C1" in opus[-3] and "E1" in opus[-3]  # markers: contamination and evaluation error, counted
        assert len(page.locator("#score-chart svg rect.bar").all()) == len(rows)
        assert page.locator("#legend").inner_text().count("base model's score") >= 5

        # Filter on one base model: the published rows (no per-model cells) leave, the values change.
        page.select_option("#model-filter", "Qwen/Qwen3-4B-Base")
        filtered = board()
        assert "Official instruct models (published)" not in filtered
        base_4b = 0.3 * W_GSM8K + 0.15 * (1 - W_GSM8K)  # the codex row never ran the 4B model: its base score, all cells marked
        assert filtered["codex_gpt-5.3-codex_10h"][2] == f"{100 * base_4b:.1f}" and "N7" in filtered["codex_gpt-5.3-codex_10h"][-3]
        score_4b = mean([0.3 * W_GSM8K + 0.15 * (1 - W_GSM8K), 0.4 * W_GSM8K + 0.15 * (1 - W_GSM8K)])
        assert filtered["claude_claude-opus-4-6_10h"][2].startswith(f"{100 * score_4b:.1f} ± ")
        assert filtered["claude_claude-opus-4-6_10h"][gsm8k_column] == f"{100 * (0.3 + 0.4) / 2:.1f}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-filtered.png"), full_page=True)

        # A run page opens from the table: show the row's cells, follow a cell's link.
        page.select_option("#model-filter", "")
        page.locator('#leaderboard tr.row[data-name="codex_gpt-5.3-codex_10h"] .toggle').click()
        page.locator("#leaderboard tr.details:not([hidden]) a.run-link").first.click()
        page.wait_for_load_state()
        assert page.url.endswith("gsm8k_Qwen_Qwen3-1.7B-Base_400.html")
        text = page.locator("main").inner_text()
        assert "Audit verdicts" in text and "no contamination detected" in text and "Train gsm8k" in text
        assert page.locator(".timeline li.tool_call").count() == 3 and "ModuleNotFoundError" in page.locator("pre.transcript").inner_text()
        page.screenshot(path=str(ARTIFACTS / "report-run-page.png"), full_page=True)
        page.go_back()
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        browser.close()
    assert not errors
    assert requests and all(url.startswith("file://") for url in requests), [u for u in requests if not u.startswith("file://")]


def get_benchmark_ids() -> list[str]:
    from posttrainbench.results.scoring import weights

    return list(weights().by_benchmark)


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_run_page_of_a_failed_trial_shows_the_error_and_the_agent_log_tail(tmp_path: Path) -> None:
    from posttrainbench.report.html import AGENT_LOG_TAIL, run_page
    from posttrainbench.results.schema import Result, RunFiles, SolveRecord, StageFailure

    run_dir = tmp_path / "run"
    (run_dir / "agent").mkdir(parents=True)
    (run_dir / "agent" / "output.log").write_text("".join(f"[2026-12-01T00:00:{n:02d}Z] agent line {n}\n" for n in range(1, 61)))
    failed = Result(run_id="r1", status="error", label="row", agent="command", model="m", benchmark="gsm8k", seed=0, hours=1,
                    sandbox="bubblewrap", device="cpu", solve=SolveRecord(reason="error", exit_code=1, wall_seconds=2.0, budget_seconds=3600),
                    files=RunFiles(output_log="agent/output.log"),
                    error=StageFailure(stage="evaluate", message="all 1 evaluation attempts failed; last: <header too large>",
                                       log="evaluation/attempt-1.log", log_tail=["Traceback (most recent call last):", "SafetensorError"]),
                    ptb_version="0", finished_at="2026-12-01T00:01:00Z")
    page = run_page(failed, run_dir)
    assert "Why it failed" in page and "evaluate: all 1 evaluation attempts failed; last: &lt;header too large&gt;" in page
    assert "Last lines of evaluation/attempt-1.log" in page and "SafetensorError" in page
    assert f"Last {AGENT_LOG_TAIL} lines of agent/output.log" in page
    assert "agent line 60\n" not in page and "agent line 60</pre>" in page and "agent line 21\n" in page
    assert "agent line 20\n" not in page  # only the tail

    no_submission = failed.model_copy(update={"status": "no_submission", "error": None})
    page = run_page(no_submission, run_dir)
    assert "no_submission: the agent left no final_model; it ended error (exit code 1)" in page and "agent line 60" in page
    assert "Why it failed" not in run_page(failed.model_copy(update={"status": "success", "error": None}), run_dir)
