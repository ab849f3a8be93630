// Renders the leaderboard, its legend and charts from window.PTB_REPORT (data.js). No network, no libraries.
(function () {
  "use strict";
  const D = window.PTB_REPORT;
  const $ = (selector) => document.querySelector(selector);
  const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ENTITIES[c]);
  const pct = (v) => (v == null ? "-" : (100 * v).toFixed(1));
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sampleStd = (xs) => {
    if (xs.length < 2) return null;
    const m = mean(xs);
    return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
  };
  const codes = Object.fromEntries(D.markers.map((m) => [m.id, m]));

  // A row as seen with the base-model filter: all models (the scored row) or one model's cells only.
  function view(row, model) {
    if (!model) {
      return { score: row.score, std: row.std, n: row.n_seeds, benchmarks: row.benchmarks, markers: row.marker_counts,
        unaudited: row.unaudited_cells || 0 };
    }
    const seeds = Object.values(row.cells).filter((byModel) => byModel[model]);
    if (!seeds.length) return null;
    const perSeed = seeds.map((byModel) =>
      D.benchmarks.reduce((s, b) => s + D.weights[b.id] * (byModel[model][b.id].value || 0), 0));
    const benchmarks = {};
    const markers = {};
    let unaudited = 0;
    for (const b of D.benchmarks) {
      const values = seeds.map((byModel) => byModel[model][b.id].value);
      benchmarks[b.id] = values.some((v) => v != null) ? mean(values.map((v) => v || 0)) : null;
      for (const byModel of seeds) for (const m of byModel[model][b.id].markers) markers[m] = (markers[m] || 0) + 1;
      unaudited += seeds.filter((byModel) => byModel[model][b.id].unaudited).length;
    }
    return { score: mean(perSeed), std: sampleStd(perSeed), n: seeds.length, benchmarks, markers, unaudited };
  }

  function heat(v) {
    if (v == null) return "";
    const light = 96 - 50 * Math.max(0, Math.min(1, v));
    return `style="background:hsl(145,50%,${light}%);color:${light < 60 ? "#fff" : "#111"}"`;
  }

  function markerBadges(counts) {
    return Object.entries(counts || {})
      .filter(([m]) => codes[m])
      .map(([m, n]) => `<span class="marker m-${m}" title="${esc(codes[m].text)}">${codes[m].code}${n}</span>`)
      .join(" ") || "-";
  }

  // Not a marker: the cell's score counts, but no integrity check vouches for it.
  const unauditedBadge = (n) => (n ? ` <span class="marker unaudited" title="${esc(D.unaudited_note)}">unaudited ${n}</span>` : "");

  function cellGrid(row, model) {
    const models = model ? [model] : D.models.filter((m) => Object.values(row.cells).some((byModel) => byModel[m]));
    return Object.entries(row.cells).map(([seed, byModel]) => {
      const head = `<tr><th>seed ${esc(seed)}</th>${D.benchmarks.map((b) => `<th>${esc(b.id)}</th>`).join("")}</tr>`;
      const body = models.filter((m) => byModel[m]).map((m) => `<tr><th>${esc(m)}</th>${D.benchmarks.map((b) => {
        const cell = byModel[m][b.id];
        const marks = cell.markers.map((x) => `<sup title="${esc(codes[x] ? codes[x].text : x)}">${codes[x] ? codes[x].code : x}</sup>`).join("");
        const unaudited = cell.unaudited ? `<sup class="unaudited" title="${esc(D.unaudited_note)}">U</sup>` : "";
        const text = `${pct(cell.value)}${marks}${unaudited}`;
        const page = cell.run_id && D.pages[cell.run_id];
        return `<td ${heat(cell.value)}>${page ? `<a class="run-link" href="runs/${esc(page)}">${text}</a>` : text}</td>`;
      }).join("")}</tr>`).join("");
      return `<table class="cells">${head}${body}</table>`;
    }).join("");
  }

  function render() {
    const model = $("#model-filter").value;
    const shown = D.rows.map((row) => ({ row, v: view(row, model) })).filter((x) => x.v)
      .sort((a, b) => b.v.score - a.v.score);
    $("#leaderboard thead").innerHTML = `<tr><th>#</th><th>name</th><th>score</th><th>seeds</th>${
      D.benchmarks.map((b) => `<th title="${esc(b.name)} (weight ${(100 * D.weights[b.id]).toFixed(1)}%)">${esc(b.id)}</th>`).join("")
    }<th>markers</th><th>time</th><th>cost / trial</th></tr>`;
    $("#leaderboard tbody").innerHTML = shown.map(({ row, v }, i) => {
      const time = row.time && row.time.mean_seconds != null
        ? `${(row.time.mean_seconds / 3600).toFixed(2)} h${row.time.budget_share != null ? ` (${(100 * row.time.budget_share).toFixed(0)}%)` : ""}` : "-";
      const cost = row.usage && row.usage.cost_usd != null ? `$${row.usage.cost_usd.toFixed(2)}` : "-";
      const score = `${pct(v.score)}${v.std != null ? ` ± ${pct(v.std)}` : ""}`;
      return `<tr class="row${row.reference ? " reference" : ""}" data-name="${esc(row.name)}">
        <td>${i + 1}</td><td><button class="toggle" title="show this row's cells and runs">${esc(row.name)}</button>${
          row.reference ? `<div class="ref" title="${esc(row.reference)}">reference</div>` : ""}</td>
        <td class="score">${score}</td><td>${v.n}</td>${D.benchmarks.map((b) => `<td class="bench" ${heat(v.benchmarks[b.id])}>${pct(v.benchmarks[b.id])}</td>`).join("")}
        <td>${markerBadges(v.markers)}${unauditedBadge(v.unaudited)}</td><td>${time}</td><td>${cost}</td></tr>
        <tr class="details" hidden><td colspan="${7 + D.benchmarks.length}">${cellGrid(row, model)}</td></tr>`;
    }).join("");
    for (const button of document.querySelectorAll("#leaderboard .toggle")) {
      button.addEventListener("click", () => {
        const details = button.closest("tr").nextElementSibling;
        details.hidden = !details.hidden;
      });
    }
    $("#summary").textContent = `${shown.length} rows · ${model || "all base models"} · weights: ${D.weights_source}` +
      " · score = per seed, mean over base models of the weighted sum over benchmarks; mean ± sample std over seeds";
    charts(shown);
  }

  // Horizontal bars with optional error bars, as inline SVG.
  function bars(items, max, unit) {
    const rowH = 22, labelW = 260, width = 760, plotW = width - labelW - 70;
    const scale = (x) => labelW + (plotW * Math.max(0, x)) / (max || 1);
    const body = items.map((it, i) => {
      const y = i * rowH + 4;
      const err = it.err != null ? `<line class="err" x1="${scale(it.value - it.err)}" x2="${scale(it.value + it.err)}" y1="${y + 8}" y2="${y + 8}"/>` : "";
      return `<text x="${labelW - 6}" y="${y + 12}" text-anchor="end">${esc(it.label.slice(0, 38))}</text>
        <rect class="${it.reference ? "bar ref" : "bar"}" x="${labelW}" y="${y}" width="${scale(it.value) - labelW}" height="16"/>${err}
        <text x="${scale(it.value + (it.err || 0)) + 4}" y="${y + 12}">${it.text}${unit}</text>`;
    }).join("");
    return `<svg width="${width}" height="${items.length * rowH + 8}" role="img">${body}</svg>`;
  }

  function charts(shown) {
    const scores = shown.map(({ row, v }) => ({ label: row.name, value: v.score, err: v.std, reference: row.reference,
      text: pct(v.score) + (v.std != null ? ` ± ${pct(v.std)}` : "") }));
    $("#score-chart").innerHTML = bars(scores, Math.max(...scores.map((s) => s.value + (s.err || 0)), 0.01), "");
    $("#benchmark-chart").innerHTML = D.benchmarks.map((b) => {
      const items = shown.filter(({ v }) => v.benchmarks[b.id] != null)
        .map(({ row, v }) => ({ label: row.name, value: v.benchmarks[b.id], reference: row.reference, text: pct(v.benchmarks[b.id]) }));
      return `<h3>${esc(b.name)} <small>weight ${(100 * D.weights[b.id]).toFixed(1)}%</small></h3>${items.length ? bars(items, 1, "") : "<p>no values</p>"}`;
    }).join("");
    const timed = shown.filter(({ row }) => row.time && row.time.mean_seconds != null).map(({ row }) => ({
      label: row.name, value: row.time.mean_seconds / 3600, err: row.time.std_seconds != null ? row.time.std_seconds / 3600 : null,
      text: `${(row.time.mean_seconds / 3600).toFixed(2)}` + (row.time.budget_share != null ? ` h, ${(100 * row.time.budget_share).toFixed(0)}% of budget` : " h") }));
    $("#time-chart").innerHTML = timed.length ? bars(timed, Math.max(...timed.map((t) => t.value + (t.err || 0))), "") : "<p>No solve times recorded.</p>";
  }

  for (const m of D.models) $("#model-filter").insertAdjacentHTML("beforeend", `<option value="${esc(m)}">${esc(m)}</option>`);
  $("#model-filter").addEventListener("change", render);
  $("#legend").innerHTML = "<h3>Markers</h3><ul>" + D.markers.map((m) => `<li><span class="marker m-${m.id}">${m.code}</span> ${esc(m.text)}</li>`).join("") +
    `<li><span class="marker unaudited">unaudited</span> (<sup>U</sup> in a cell) ${esc(D.unaudited_note)}</li>` +
    "</ul><p>A marked cell counts the base model's zero-shot score instead of the trial's. Numbers after a marker count the cells." +
    " Cell colour: darker is higher (0-100%). Reference rows are baselines or published values, not agents.</p>";
  render();
})();
