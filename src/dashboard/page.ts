/**
 * The dashboard page: one HTML document with its CSS and script inline (no CDN, no build step).
 * The script polls /api/snapshot every second and redraws: servers, functions (sortable by any
 * column), workers, and two SVG line charts (queue depth; completed jobs per second, or queue
 * change per second where the servers do not report completions). Every value from the servers
 * is set with textContent, never as HTML.
 *
 * Hooks for tests and scripts: rows carry data-server / data-function / data-worker, cells a
 * class naming the column, each chart data-last / data-max of its series, and <body data-updated>
 * the time of the last successful redraw.
 */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gearbun dashboard</title>
<style>
  :root { --bg: #f7f7f5; --fg: #1d1d1b; --muted: #6b6b66; --line: #d9d9d4; --up: #1f7a3a; --down: #b3261e; --accent: #2057a7; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
  header { display: flex; align-items: baseline; gap: 1rem; padding: .8rem 1.2rem; border-bottom: 1px solid var(--line); background: #fff; }
  header h1 { font-size: 1.1rem; margin: 0; }
  header .meta { color: var(--muted); }
  main { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; padding: 1rem 1.2rem; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: .95rem; margin: .1rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  th { color: var(--muted); font-weight: 600; cursor: pointer; user-select: none; }
  th[aria-sort="ascending"]::after { content: " \\25B2"; }
  th[aria-sort="descending"]::after { content: " \\25BC"; }
  .state-up { color: var(--up); font-weight: 600; }
  .state-down { color: var(--down); font-weight: 600; }
  .empty { color: var(--muted); font-style: italic; }
  svg { width: 100%; height: 160px; display: block; }
  svg .grid { stroke: var(--line); stroke-width: 1; }
  svg .series { fill: none; stroke: var(--accent); stroke-width: 2; }
  svg text { fill: var(--muted); font-size: 11px; }
  #error { color: var(--down); }
</style>
</head>
<body>
<header><h1>gearbun dashboard</h1><span class="meta" id="updated">connecting…</span><span id="error"></span></header>
<main>
  <section class="wide"><h2>Servers</h2>
    <table id="servers"><thead><tr><th>Address</th><th>State</th><th>Version</th><th class="num">Answer (ms)</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide"><h2>Functions</h2>
    <table id="functions"><thead><tr></tr></thead><tbody></tbody></table>
  </section>
  <section><h2>Queue depth (jobs queued or running)</h2><svg id="chart-depth" viewBox="0 0 600 160" preserveAspectRatio="none"></svg></section>
  <section><h2 id="rate-title">Completed jobs per second</h2><svg id="chart-rate" viewBox="0 0 600 160" preserveAspectRatio="none"></svg></section>
  <section class="wide"><h2>Workers</h2>
    <table id="workers"><thead><tr><th>Server</th><th class="num">Connection</th><th>Address</th><th>Client id</th><th>Functions</th></tr></thead><tbody></tbody></table>
  </section>
</main>
<script>
"use strict";
const sort = { key: "function", dir: 1 };
let data = null;

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function renderServers(servers) {
  const body = document.querySelector("#servers tbody");
  body.replaceChildren(...servers.map((s) => {
    const tr = el("tr", { "data-server": s.server, "data-up": s.up ? "1" : "0" });
    tr.append(el("td", { class: "address" }, s.server));
    tr.append(el("td", { class: "state state-" + (s.up ? "up" : "down"), title: s.error || "" }, s.up ? "up" : "down"));
    tr.append(el("td", { class: "version" }, s.up ? s.version : (s.error || "")));
    tr.append(el("td", { class: "num elapsed" }, s.elapsedMs));
    return tr;
  }));
}

function columns(servers) {
  const cols = [
    { key: "function", label: "Function" },
    { key: "total", label: "Total", num: true },
    { key: "running", label: "Running", num: true },
    { key: "waiting", label: "Waiting", num: true },
    { key: "workers", label: "Workers", num: true },
  ];
  if (servers.length > 1) for (const s of servers) cols.push({ key: "server:" + s.server, label: s.server + " (total/running/workers)", server: s.server });
  return cols;
}

function value(f, col) {
  if (col.server) { const r = f.servers[col.server]; return r ? r.total : -1; }
  return f[col.key];
}

function renderFunctions(d) {
  const cols = columns(d.servers);
  const head = document.querySelector("#functions thead tr");
  head.replaceChildren(...cols.map((c) => {
    const th = el("th", { "data-key": c.key, class: c.num || c.server ? "num" : "" }, c.label);
    if (sort.key === c.key) th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
    th.addEventListener("click", () => {
      sort.dir = sort.key === c.key ? -sort.dir : (c.num || c.server ? -1 : 1);
      sort.key = c.key;
      renderFunctions(data);
    });
    return th;
  }));
  const col = cols.find((c) => c.key === sort.key) || cols[0];
  const rows = [...d.functions].sort((a, b) => {
    const x = value(a, col), y = value(b, col);
    return (x < y ? -1 : x > y ? 1 : 0) * sort.dir || (a.function < b.function ? -1 : 1);
  });
  const body = document.querySelector("#functions tbody");
  if (rows.length === 0) {
    const tr = el("tr"); tr.append(el("td", { colspan: String(cols.length), class: "empty" }, "no functions"));
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...rows.map((f) => {
    const tr = el("tr", { "data-function": f.function });
    for (const c of cols) {
      if (c.server) {
        const r = f.servers[c.server];
        tr.append(el("td", { class: "num per-server", "data-server": c.server }, r ? r.total + "/" + r.running + "/" + r.workers : "-"));
      } else {
        tr.append(el("td", { class: (c.num ? "num " : "") + c.key }, f[c.key]));
      }
    }
    return tr;
  }));
}

function renderWorkers(workers) {
  const body = document.querySelector("#workers tbody");
  if (workers.length === 0) {
    const tr = el("tr"); tr.append(el("td", { colspan: "5", class: "empty" }, "no workers"));
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...workers.map((w) => {
    const tr = el("tr", { "data-worker": w.clientId });
    tr.append(el("td", { class: "server" }, w.server));
    tr.append(el("td", { class: "num fd" }, w.fd));
    tr.append(el("td", { class: "ip" }, w.ip));
    tr.append(el("td", { class: "client-id" }, w.clientId));
    tr.append(el("td", { class: "functions" }, w.functions.join(", ")));
    return tr;
  }));
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function chart(id, points) {
  const box = document.getElementById(id);
  const W = 600, H = 160, L = 40, B = 18, T = 8;
  const vals = points.filter((p) => p.v !== null);
  const max = Math.max(1, ...vals.map((p) => p.v));
  const min = Math.min(0, ...vals.map((p) => p.v));
  const t0 = points.length ? points[0].at : 0, t1 = points.length ? points[points.length - 1].at : 1;
  const x = (t) => L + (W - L - 4) * (t1 === t0 ? 1 : (t - t0) / (t1 - t0));
  const y = (v) => T + (H - T - B) * (1 - (v - min) / (max - min || 1));
  const parts = [];
  for (const v of [min, (min + max) / 2, max]) {
    parts.push(svg("line", { class: "grid", x1: L, x2: W, y1: y(v), y2: y(v) }));
    parts.push(svg("text", { x: 2, y: y(v) + 4 }, Math.round(v * 10) / 10));
  }
  if (points.length) parts.push(svg("text", { x: L, y: H - 4 }, Math.round((t1 - t0) / 1000) + " s shown"));
  if (vals.length) parts.push(svg("polyline", { class: "series", points: vals.map((p) => x(p.at).toFixed(1) + "," + y(p.v).toFixed(1)).join(" ") }));
  box.replaceChildren(...parts);
  box.setAttribute("data-last", vals.length ? String(vals[vals.length - 1].v) : "");
  box.setAttribute("data-max", vals.length ? String(Math.max(...vals.map((p) => p.v))) : "");
}

function render(d) {
  data = d;
  renderServers(d.servers);
  renderFunctions(d);
  renderWorkers(d.workers);
  chart("chart-depth", d.history.map((p) => ({ at: p.at, v: p.depth })));
  chart("chart-rate", d.history.map((p) => ({ at: p.at, v: p.rate })));
  document.getElementById("rate-title").textContent = d.rateKind === "completed" ? "Completed jobs per second" : "Queue change per second (gearmand does not report completions)";
  const up = d.servers.filter((s) => s.up).length;
  document.getElementById("updated").textContent = up + "/" + d.servers.length + " servers up, updated " + new Date(d.at).toLocaleTimeString();
  document.body.setAttribute("data-updated", String(d.at));
}

async function tick() {
  try {
    const res = await fetch("api/snapshot", { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    render(await res.json());
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = "dashboard unreachable: " + e.message;
  }
  setTimeout(tick, 1000);
}
tick();
</script>
</body>
</html>
`;
