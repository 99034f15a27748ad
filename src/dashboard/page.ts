/**
 * The dashboard page: one HTML document with its CSS and script inline (no CDN, no build step).
 * The script polls /api/snapshot every second and redraws: servers, functions (sortable by any
 * column), workers, and two SVG line charts (queue depth; completed jobs per second, or queue
 * change per second where the servers do not report completions). Every value from the servers
 * is set with textContent, never as HTML.
 *
 * With a pool's metrics endpoint (gearbun dashboard --pool), a pool panel: its health, processes
 * per group, and done / failed / lost / retries / dead letters per function.
 *
 * Fits 1280 px: the per-server numbers are one column of lines (not a column per server), long
 * cells wrap, and a table wider than its section scrolls inside it, never the page.
 *
 * Hooks for tests and scripts: rows carry data-server / data-function / data-worker / data-group,
 * cells a class naming the column, a function with waiting jobs and no worker the class
 * "starved", each chart data-last / data-max of its series, and <body data-updated> the time of
 * the last successful redraw.
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
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; min-width: 0; overflow-x: auto; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: .95rem; margin: .1rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
  td.per-server, td.functions, td.version, td.health { white-space: normal; overflow-wrap: anywhere; }
  td.per-server span { display: inline-block; margin-right: 1rem; font-variant-numeric: tabular-nums; }
  tr.starved td { background: #fbe9e7; }
  tr.starved td.waiting, tr.starved td.workers { color: var(--down); font-weight: 600; }
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
  <section class="wide" id="pool-panel" hidden><h2>Pool <span class="meta" id="pool-health"></span></h2>
    <table id="pool-groups"><thead><tr><th>Group</th><th class="num">Configured</th><th class="num">Registered</th><th class="num">Serving</th></tr></thead><tbody></tbody></table>
    <table id="pool-functions"><thead><tr><th>Function</th><th class="num">Done</th><th class="num">Failed</th><th class="num">Lost</th><th class="num">Retries</th><th class="num">Dead letters</th></tr></thead><tbody></tbody></table>
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
    tr.append(el("td", { class: "num elapsed" }, s.up ? s.elapsedMs : "—"));
    return tr;
  }));
}

function columns(servers) {
  const cols = [
    { key: "function", label: "Function" },
    { key: "total", label: "Total", num: true },
    { key: "running", label: "Running", num: true },
    { key: "waiting", label: "Waiting", num: true },
    { key: "workers", label: "Worker conns", num: true, title: "worker connections the servers report, summed: a worker on two servers counts twice" },
  ];
  if (servers.length > 1) cols.push({ key: "per-server", label: "Per server (total/running/conns)", perServer: true });
  return cols;
}

function value(f, col) {
  if (col.perServer) return f.total;
  return f[col.key];
}

function renderFunctions(d) {
  const cols = columns(d.servers);
  const head = document.querySelector("#functions thead tr");
  head.replaceChildren(...cols.map((c) => {
    const th = el("th", { "data-key": c.key, class: c.num ? "num" : "", title: c.title || "" }, c.label);
    if (sort.key === c.key) th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
    th.addEventListener("click", () => {
      sort.dir = sort.key === c.key ? -sort.dir : (c.num || c.perServer ? -1 : 1);
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
    const starved = f.waiting > 0 && f.workers === 0;
    const tr = el("tr", starved ? { "data-function": f.function, class: "starved", title: "jobs waiting and no worker" } : { "data-function": f.function });
    for (const c of cols) {
      if (c.perServer) {
        const td = el("td", { class: "per-server" });
        for (const s of d.servers) {
          const r = f.servers[s.server];
          if (r) td.append(el("span", { "data-server": s.server }, s.server + " " + r.total + "/" + r.running + "/" + r.workers));
        }
        tr.append(td);
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

/** Round tick values (1, 2 or 5 × 10^n apart) covering [min, max]. */
function ticks(min, max) {
  const span = max - min || 1;
  const raw = span / 3;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  if (out[out.length - 1] < max) out.push(out[out.length - 1] + step);
  return out;
}

/** A tick label: short, a plain minus, no float noise (1.5k, -120, 0.5). */
function tickLabel(v) {
  const a = Math.abs(v);
  const text = a >= 1e6 ? +(a / 1e6).toPrecision(3) + "M" : a >= 1e4 ? +(a / 1e3).toPrecision(3) + "k" : String(+a.toPrecision(3));
  return (v < 0 ? "-" : "") + text;
}

function chart(id, points) {
  const box = document.getElementById(id);
  const W = 600, H = 160, L = 40, B = 18, T = 8;
  const vals = points.filter((p) => p.v !== null);
  const marks = ticks(Math.min(0, ...vals.map((p) => p.v)), Math.max(1, ...vals.map((p) => p.v)));
  const min = marks[0], max = marks[marks.length - 1];
  const t0 = points.length ? points[0].at : 0, t1 = points.length ? points[points.length - 1].at : 1;
  const x = (t) => L + (W - L - 4) * (t1 === t0 ? 1 : (t - t0) / (t1 - t0));
  const y = (v) => T + (H - T - B) * (1 - (v - min) / (max - min || 1));
  const parts = [];
  for (const v of marks) {
    parts.push(svg("line", { class: "grid", x1: L, x2: W, y1: y(v), y2: y(v) }));
    parts.push(svg("text", { x: 2, y: y(v) + 4, class: "tick" }, tickLabel(v)));
  }
  if (points.length) parts.push(svg("text", { x: L, y: H - 4 }, Math.round((t1 - t0) / 1000) + " s shown"));
  if (vals.length) parts.push(svg("polyline", { class: "series", points: vals.map((p) => x(p.at).toFixed(1) + "," + y(p.v).toFixed(1)).join(" ") }));
  box.replaceChildren(...parts);
  box.setAttribute("data-last", vals.length ? String(vals[vals.length - 1].v) : "");
  box.setAttribute("data-max", vals.length ? String(Math.max(...vals.map((p) => p.v))) : "");
}

function renderPool(pool) {
  const panel = document.getElementById("pool-panel");
  panel.hidden = pool === null;
  if (pool === null) return;
  const health = document.getElementById("pool-health");
  health.textContent = pool.health;
  health.className = "meta " + (pool.healthy ? "state-up" : "state-down");
  document.querySelector("#pool-groups tbody").replaceChildren(...pool.groups.map((g) => {
    const tr = el("tr", { "data-group": g.group });
    tr.append(el("td", { class: "group" }, g.group));
    for (const k of ["configured", "registered", "serving"]) tr.append(el("td", { class: "num " + k }, g[k]));
    return tr;
  }));
  const body = document.querySelector("#pool-functions tbody");
  if (pool.functions.length === 0) {
    const tr = el("tr"); tr.append(el("td", { colspan: "6", class: "empty" }, pool.up ? "no jobs yet" : "not reachable"));
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...pool.functions.map((f) => {
    const tr = el("tr", { "data-function": f.function });
    tr.append(el("td", { class: "function" }, f.function));
    for (const k of ["complete", "failed", "lost", "retries", "deadLetters"]) tr.append(el("td", { class: "num " + k }, f[k]));
    return tr;
  }));
}

function render(d) {
  data = d;
  renderPool(d.pool);
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
