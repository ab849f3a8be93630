"""The HTML report opened in a real headless Chromium: rows and values, the base-model filter, a run page
opened from the table, no network request, and a screenshot kept as a test artifact."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import ptb
from posttrainbench.catalog import get_benchmark
from test_import_upstream import W_GSM8K, expected_seed_scores, run_folder, upstream_tree

TRACES = Path(__file__).parent / "fixtures" / "traces"
ARTIFACTS = Path(os.environ.get("PTB_TEST_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))
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
    from posttrainbench.report.scoring import weights

    return list(weights().by_benchmark)


def mean(values: list[float]) -> float:
    return sum(values) / len(values)
