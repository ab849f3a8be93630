"""The offline HTML report: a static folder (no CDN, no server, no network) that opens from disk.

- ``index.html``: the leaderboard (filter by base model, per-benchmark heat map, markers with a legend,
  each row's cells one click away), a bar chart of scores with error bars, a per-benchmark breakdown and a
  time-spent chart. The page renders from ``data.js`` with ``assets/report.js``; nothing is fetched.
- ``runs/<run_id>.html``: one page per trial: its prompt, audit verdicts and evidence, metrics, usage, a
  timeline of the agent's actions and the readable transcript.

A page shows what the trial's stages recorded: its ``Result`` and the run files the result names
(``Result.files``); nothing is re-derived here.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from posttrainbench.evaluation.benchmarks import get_benchmark
from posttrainbench.fileio import tail_lines
from posttrainbench.results.scoring import Row, Weights
from posttrainbench.report.tables import UNAUDITED_NOTE
from posttrainbench.results.events import Event, read_events
from posttrainbench.results.records import MARKER_CODES, MARKERS
from posttrainbench.results.schema import Metrics, Result, TokenUsage, Verdict

AGENT_LOG_TAIL = 40
"""Lines of the agent's log shown on the page of a trial that did not succeed."""
TRANSCRIPT_LIMIT = 400_000
"""Characters of transcript shown on a run page (the run directory keeps all of it)."""


def write_report(out: Path, rows: list[Row], weights: Weights, results: dict[str, tuple[Result, Path]]) -> Path:
    """Write the report folder; ``results`` maps run ids to their result and run directory. Returns index.html."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "runs").mkdir(exist_ok=True)
    assets = out / "assets"
    assets.mkdir(exist_ok=True)
    for name in ("report.css", "report.js"):
        shutil.copyfile(str(resources.files("posttrainbench.report").joinpath("assets", name)), assets / name)
    linked = {cell.run_id for row in rows for by_model in row.cells.values() for cells in by_model.values() for cell in cells.values()}
    pages = {run_id: run_page_name(run_id) for run_id in linked if run_id in results}
    for run_id, page in pages.items():
        result, run_dir = results[run_id]
        (out / "runs" / page).write_text(run_page(result, run_dir))
    data = {
        "weights": weights.by_benchmark, "weights_source": weights.source,
        "benchmarks": [{"id": b, "name": get_benchmark(b).name} for b in weights.by_benchmark],
        "models": sorted({m for row in rows if not row.reference for by_model in row.cells.values() for m in by_model}),
        "markers": [{"id": m, "code": MARKER_CODES[m], "text": MARKERS[m]} for m in MARKER_CODES],
        "unaudited_note": UNAUDITED_NOTE,
        "pages": pages, "rows": [row.to_dict() for row in rows],
    }
    (out / "data.js").write_text("window.PTB_REPORT = " + json.dumps(data, separators=(",", ":")) + ";\n")
    index = out / "index.html"
    index.write_text(INDEX_HTML)
    return index


def run_page_name(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", run_id) + ".html"


def run_page(result: Result, run_dir: Path) -> str:
    files = result.files
    events = read_events(run_dir / files.events) if files.events else None
    usage = result.trace.usage if result.trace else TokenUsage()
    wall, budget = (result.solve.wall_seconds if result.solve else None), result.hours * 3600
    facts = [
        ("status", result.status), ("accuracy", _pct(result.accuracy)), ("agent", result.agent), ("base model", result.model),
        ("benchmark", result.benchmark), ("seed", result.seed), ("submitted", "yes" if result.submitted else "no"),
        ("agent ended", (result.solve.reason if result.solve else None) or "-"),
        ("time", "-" if wall is None else f"{wall / 3600:.2f} h of {result.hours:g} h ({100 * wall / budget:.0f}%)" if budget else f"{wall:.0f} s"),
        ("run id", result.run_id), ("imported from", result.imported_from or "-"),
    ]
    if result.error:
        facts.append(("error", f"{result.error.stage}: {result.error.message}"))
    body = [
        f'<p><a href="../index.html">&larr; leaderboard</a></p><h1>{_e(result.label)}</h1>',
        f'<p class="sub">{_e(result.model)} &middot; {_e(result.benchmark)} &middot; seed {result.seed}</p>',
        _table(["", ""], [[k, v] for k, v in facts], "facts"),
        _failure(result, run_dir),
        "<h2>Audit verdicts</h2>",
        _table(["check", "verdict", "evidence"], [[v.check, _badge(v.status), _evidence(v)] for v in result.verdicts], "verdicts", raw=(1, 2))
        if result.verdicts else "<p>No audit verdicts.</p>",
        "<h2>Metrics</h2>", _metrics(result.metrics),
        "<h2>Usage</h2>", _table(["tokens in", "cached", "out", "reasoning", "cost (USD)"],
                                 [[_num(getattr(usage, k)) for k in ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens", "cost_usd")]], "usage"),
        "<h2>Prompt</h2>", f"<pre class=\"prompt\">{_e(_read(run_dir, files.prompt) or 'No prompt recorded.')}</pre>",
        "<h2>Timeline</h2>", _timeline(events) if events is not None else "<p>No agent trace.</p>",
        "<h2>Transcript</h2>", _transcript(_read(run_dir, files.transcript)),
    ]
    return _page(f"{result.label} · {result.model} · {result.benchmark}", "\n".join(body), "../")


def _evidence(verdict: Verdict) -> str:
    """A verdict's evidence as a list (where found, and the text there), then its reviews."""
    items = []
    for item in verdict.evidence:
        where = f" <code>{_e(item.file)}{'' if item.offset is None else f' @ {item.offset}'}</code>" if item.file else ""
        excerpt = f'<pre class="excerpt">{_e(item.excerpt)}</pre>' if item.excerpt else ""
        items.append(f"<li><b>{_e(item.rule)}</b>: {_e(item.detail)}{where}{excerpt}</li>")
    for review in verdict.reviews:
        items.append(f'<li class="review"><b>review</b>: {_e(review.status)} by {_e(review.reviewer)} at {_e(review.at)}: {_e(review.note)}</li>')
    if verdict.audited:
        items.append(f'<li class="review">the audit said {_e(verdict.audited)}</li>')
    return f'<ul class="evidence">{"".join(items)}</ul>' if items else ""


def _read(run_dir: Path, relative: str | None) -> str:
    """A run file the result names ('' when it names none or the file is gone)."""
    path = run_dir / relative if relative else None
    return path.read_text(errors="replace") if path and path.is_file() else ""


def _metrics(metrics: Metrics | None) -> str:
    """The metrics without the per-sample scores and each repeat's own metrics, which stay in result.json."""
    if not metrics:
        return "<p>No metrics.</p>"
    shown = metrics.model_dump(mode="json", exclude={"sample_scores", "runs"}, exclude_none=True)
    samples = metrics.extra().get("sample_scores")
    note = f"<p class=\"sub\">Per-sample scores of {len(samples)} samples are in result.json.</p>" if samples else ""
    return f"<pre>{_e(json.dumps(shown, indent=2))}</pre>{note}"


def _failure(result: Result, run_dir: Path) -> str:
    """Why a trial did not succeed, on its page: the error, the failed stage's log and the end of the agent's log."""
    if result.status == "success":
        return ""
    solve = result.solve
    if result.error:
        why = f"{result.error.stage}: {result.error.message}"
    else:
        code = solve.exit_code if solve else None
        why = (f"{result.status}: the agent left no final_model; it ended {(solve.reason if solve else None) or '?'}"
               + ("" if code is None else f" (exit code {code})"))
    parts = ['<section class="failure"><h2>Why it failed</h2>', f'<p class="message">{_e(why)}</p>']
    agent_log = result.files.output_log
    if result.error and result.error.log_tail and result.error.log != agent_log:
        parts.append(f"<h3>Last lines of {_e(result.error.log)}</h3>{_log_block(result.error.log_tail)}")
    tail = tail_lines(run_dir / agent_log, AGENT_LOG_TAIL) if agent_log else []
    parts.append(f"<h3>Last {len(tail)} lines of {_e(agent_log)}</h3>{_log_block(tail, 'agent-log')}"
                 if tail else "<p>No agent log (the agent wrote nothing, or its log is missing).</p>")
    return "".join(parts) + "</section>"


def _log_block(lines: list[str], cls: str = "") -> str:
    return f'<pre class="log-tail {cls}">' + _e("\n".join(lines)) + "</pre>"


def _timeline(events: list[Event]) -> str:
    items = []
    for number, event in enumerate(events, 1):
        if event.kind == "usage":
            continue
        what = event.command or event.text or event.output or (json.dumps(event.raw)[:300] if event.raw is not None else "")
        label = event.tool if event.kind in ("tool_call", "tool_result") and event.tool else event.kind.replace("_", " ")
        extra = f" exit {event.exit_code}" if event.exit_code is not None else ""
        items.append(f'<li class="ev {event.kind}"><span class="n">{number}</span><span class="t">{_e(event.time or "")}</span>'
                     f'<span class="k">{_e(label)}{extra}</span><span class="w">{_e((what or "")[:300])}</span></li>')
    return f'<ol class="timeline">{"".join(items)}</ol>' if items else "<p>The trace has no events.</p>"


def _transcript(text: str) -> str:
    if not text:
        return "<p>No transcript.</p>"
    note = f"<p>Showing the first {TRANSCRIPT_LIMIT:,} characters of {len(text):,}.</p>" if len(text) > TRANSCRIPT_LIMIT else ""
    return f'{note}<pre class="transcript">{_e(text[:TRANSCRIPT_LIMIT])}</pre>'


def _table(head: list[str], rows: list[list[Any]], cls: str, raw: tuple[int, ...] = ()) -> str:
    header = "".join(f"<th>{_e(h)}</th>" for h in head) if any(head) else ""
    body = "".join("<tr>" + "".join(f"<td>{v if i in raw else _e(v)}</td>" for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f'<table class="{cls}">{f"<thead><tr>{header}</tr></thead>" if header else ""}<tbody>{body}</tbody></table>'


def _badge(verdict: str) -> str:
    return f'<span class="badge {_e(verdict)}">{_e(verdict)}</span>'


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:,.4f}" if isinstance(value, float) else f"{value:,}"


def _page(title: str, body: str, prefix: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="stylesheet" href="{prefix}assets/report.css"></head><body><main>{body}</main></body></html>\n')


INDEX_HTML = _page("PostTrainBench leaderboard", """
<h1>PostTrainBench leaderboard</h1>
<p class="sub" id="summary"></p>
<div class="controls"><label>Base model <select id="model-filter"><option value="">all base models</option></select></label></div>
<table id="leaderboard" class="board"><thead></thead><tbody></tbody></table>
<div id="legend" class="legend"></div>
<h2>Scores</h2><div id="score-chart" class="chart"></div>
<h2>Per benchmark</h2><div id="benchmark-chart" class="chart"></div>
<h2>Time spent</h2><div id="time-chart" class="chart"></div>
<script src="data.js"></script><script src="assets/report.js"></script>
""", "")
