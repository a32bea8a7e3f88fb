// The dashboard: plain JavaScript and SVG over the JSON API (no build step, no CDN).
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
                "#e377c2"];
const MAX_SERIES = 8;
const state = { subject: null, kind: null, freq: "W", scope: "sentence", rows: [], hidden: new Set(),
                selected: null, themes: [] };

const $ = (id) => document.getElementById(id);

function status(text, isError) {
  const el = $("status");
  el.textContent = text || "";
  el.classList.toggle("error", Boolean(isError));
}

async function api(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") query.append(key, value);
  }
  const url = query.toString() ? `${path}?${query}` : path;
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (response.status === 503 && attempt < 5) {  // a writer holds the store: wait, retry
      status("The store is being written; retrying...");
      await new Promise((done) => setTimeout(done, 1000 * (attempt + 1)));
      continue;
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const detail = body && body.detail ? body.detail : response.statusText;
      throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
    }
    return { body, headers: response.headers };
  }
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  return node;
}

function tone(value) {
  if (value === null || value === undefined) return { text: "-", cls: "neu" };
  const text = (value > 0 ? "+" : "") + Number(value).toFixed(2);
  return { text, cls: value > 0.05 ? "pos" : value < -0.05 ? "neg" : "neu" };
}

function toneColor(value) {
  if (value === null || value === undefined) return "#8a8f96";
  const v = Math.max(-1, Math.min(1, value));
  return v >= 0 ? `rgb(${Math.round(138 - 112 * v)},${Math.round(143 - 16 * v)},${Math.round(150 - 95 * v)})`
                : `rgb(${Math.round(138 + 60 * -v)},${Math.round(143 - 103 * -v)},${Math.round(150 - 110 * -v)})`;
}

function periodEnd(period, freq) {
  const d = new Date(period + "T00:00:00Z");
  if (freq === "D") d.setUTCDate(d.getUTCDate() + 1);
  else if (freq === "W") d.setUTCDate(d.getUTCDate() + 7);
  else if (freq === "M") d.setUTCMonth(d.getUTCMonth() + 1);
  else d.setUTCMonth(d.getUTCMonth() + 3);
  return d.toISOString().slice(0, 10);
}

// Every period from the first to the last with stories, so that time runs evenly.
function periodGrid(rows) {
  const seen = [...new Set(rows.map((r) => r.period))].sort();
  if (!seen.length) return [];
  const grid = [seen[0]];
  while (grid[grid.length - 1] < seen[seen.length - 1] && grid.length < 5000) {
    grid.push(periodEnd(grid[grid.length - 1], state.freq));
  }
  return grid;
}

// The key of a trends row: a theme id (subject is an entity) or TYPE:ID (subject is a theme).
function keyOf(row) {
  return state.kind === "entity" ? row.theme : `${row.type}:${row.entity}`;
}

function seriesOf(rows) {
  const totals = new Map();
  for (const row of rows) totals.set(keyOf(row), (totals.get(keyOf(row)) || 0) + row.stories);
  const keys = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a) || (a < b ? -1 : 1));
  return keys.slice(0, MAX_SERIES).map((key, i) => ({ key, color: COLORS[i], total: totals.get(key) }));
}

function drawChart(svgEl, rows, series, periods, value, domain, zeroFill) {
  svgEl.replaceChildren();
  const width = svgEl.clientWidth || 700;
  const height = svgEl.clientHeight || 240;
  const pad = { left: 38, right: 12, top: 10, bottom: 24 };
  svgEl.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const x = (i) => pad.left + (periods.length < 2 ? (width - pad.left - pad.right) / 2
                   : (i * (width - pad.left - pad.right)) / (periods.length - 1));
  const [lo, hi] = domain;
  const y = (v) => pad.top + ((hi - v) * (height - pad.top - pad.bottom)) / (hi - lo || 1);
  svgEl.append(svg("line", { class: "axis", x1: pad.left, x2: width - pad.right, y1: y(lo), y2: y(lo) }));
  const ticks = [...new Set(lo < 0 ? [lo, 0, hi] : [lo, Math.round((lo + hi) / 2), hi])];
  for (const t of ticks) {
    svgEl.append(svg("line", { class: "axis", x1: pad.left, x2: width - pad.right, y1: y(t), y2: y(t),
                               "stroke-dasharray": "2,3" }));
    const label = svg("text", { class: "tick", x: pad.left - 6, y: y(t) + 4, "text-anchor": "end" });
    label.textContent = String(t);
    svgEl.append(label);
  }
  const every = Math.max(1, Math.ceil(periods.length / 8));
  periods.forEach((p, i) => {
    if (i % every) return;
    const anchor = periods.length > 1 && i === 0 ? "start" : i === periods.length - 1 ? "end" : "middle";
    const label = svg("text", { class: "tick", x: x(i), y: height - 6, "text-anchor": anchor });
    label.textContent = p;
    svgEl.append(label);
  });
  const index = new Map(periods.map((p, i) => [p, i]));
  for (const s of series) {
    if (state.hidden.has(s.key)) continue;
    const points = rows.filter((r) => keyOf(r) === s.key && value(r) !== null && value(r) !== undefined)
                       .sort((a, b) => (a.period < b.period ? -1 : 1));
    // Stories are 0 in a period without a row (the line runs along the axis there); tone is
    // unknown there (the line breaks).
    const line = zeroFill
      ? periods.map((p) => points.find((r) => r.period === p) || { period: p, stories: 0 })
      : points;
    let d = "";
    line.forEach((r, i) => {
      const joined = i > 0 && index.get(r.period) === index.get(line[i - 1].period) + 1;
      d += `${joined ? "L" : "M"}${x(index.get(r.period))},${y(value(r))}`;
    });
    if (line.length > 1) svgEl.append(svg("path", { class: "series", d, stroke: s.color }));
    for (const r of points) {
      const t = tone(r.sentiment);
      const label = `${s.key}, ${state.freq === "W" ? "week of " : ""}${r.period}: ${r.stories} ` +
                    `${r.stories === 1 ? "story" : "stories"}, tone ${t.text}`;
      const dot = svg("circle", { class: "point", cx: x(index.get(r.period)), cy: y(value(r)), r: 5,
                                  fill: s.color, tabindex: "0", role: "button", "aria-label": label,
                                  "data-key": s.key, "data-period": r.period });
      const title = svg("title");
      title.textContent = label;
      dot.append(title);
      if (state.selected && state.selected.key === s.key && state.selected.period === r.period) {
        dot.classList.add("selected");
      }
      const choose = () => showEvidence(s.key, r.period);
      dot.addEventListener("click", choose);
      dot.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); choose(); }
      });
      svgEl.append(dot);
    }
  }
}

function drawTimeline() {
  const rows = state.rows;
  const series = seriesOf(rows);
  const periods = periodGrid(rows);
  const legend = $("legend");
  legend.replaceChildren(...series.map((s) => el("button", {
    type: "button", "aria-pressed": String(!state.hidden.has(s.key)),
    onclick: () => { state.hidden.has(s.key) ? state.hidden.delete(s.key) : state.hidden.add(s.key); drawTimeline(); },
  }, el("span", { class: "swatch", style: `background:${s.color}` }), `${s.key} (${s.total})`)));
  const most = Math.max(1, ...rows.map((r) => r.stories));
  drawChart($("chart-stories"), rows, series, periods, (r) => r.stories, [0, most], true);
  drawChart($("chart-tone"), rows, series, periods, (r) => r.sentiment, [-1, 1], false);
  drawMomentum(series, periods);
}

function drawMomentum(series, periods) {
  const last = periods[periods.length - 1];  // the newest period with stories
  const body = $("momentum").querySelector("tbody");
  body.replaceChildren();
  for (const s of series) {
    const latest = state.rows.find((r) => keyOf(r) === s.key && r.period === last);
    const t = tone(latest ? latest.sentiment : null);
    const change = latest && latest.change !== null ? (latest.change > 0 ? "+" : "") + latest.change : "-";
    const z = latest && latest.zscore !== null ? Number(latest.zscore).toFixed(2) : "-";
    body.append(el("tr", {},
      el("td", {}, el("span", { class: "swatch", style: `background:${s.color};display:inline-block;width:.7rem;height:.7rem;margin-right:.3rem` }), s.key),
      el("td", {}, s.total), el("td", {}, latest ? latest.stories : 0), el("td", {}, change),
      el("td", {}, z), el("td", { class: t.cls }, t.text)));
  }
  $("momentum-key").textContent = state.kind === "entity" ? "theme" : "entity";
  $("momentum-title").textContent = last ? `Momentum in the latest period (${last})` : "Momentum";
  $("momentum").hidden = $("momentum-title").hidden = series.length === 0;
}

async function showEvidence(key, period) {
  state.selected = { key, period };
  document.querySelectorAll(".point.selected").forEach((p) => p.classList.remove("selected"));
  document.querySelectorAll(`.point[data-key="${CSS.escape(key)}"][data-period="${period}"]`)
    .forEach((p) => p.classList.add("selected"));
  const entity = state.kind === "entity" ? state.subject : key;
  const theme = state.kind === "entity" ? key : state.subject;
  const until = periodEnd(period, state.freq);
  $("evidence").hidden = false;
  $("evidence-title").textContent = `Evidence: ${entity} and ${theme}, ${period} to ${until}`;
  const list = $("evidence-list");
  list.replaceChildren(el("li", {}, "Loading..."));
  try {
    const { body } = await api("/articles", { entity, theme, since: period, until, dated_by: "story",
                                              scope: state.scope, limit: 20 });
    list.replaceChildren();
    for (const a of body) {
      const t = tone(a.sentiment);
      const title = a.url && /^https?:/.test(a.url)
        ? el("a", { href: a.url, target: "_blank", rel: "noopener noreferrer" }, a.title)
        : el("span", {}, a.title);
      const item = el("li", {}, el("strong", {}, title),
        el("div", { class: "meta" }, `${a.published.slice(0, 16).replace("T", " ")} UTC · ${a.feed_id}` +
           `${a.near_duplicate ? " · syndicated copy" : ""} · tone `, el("span", { class: t.cls }, t.text)));
      for (const sentence of a.evidence) item.append(el("blockquote", { class: "sentence" }, sentence));
      list.append(item);
    }
    if (!body.length) list.append(el("li", {}, "No stored article for this point."));
    $("evidence").scrollIntoView({ block: "nearest" });
  } catch (error) {
    list.replaceChildren(el("li", { class: "neg" }, error.message));
  }
}

function risingList(target, rows, label, pick) {
  const list = $(target);
  list.replaceChildren();
  for (const row of rows) {
    const t = tone(row.sentiment);
    const change = row.change > 0 ? `+${row.change}` : String(row.change);
    list.append(el("li", {}, el("button", {
      type: "button", onclick: () => pick(row),
      "aria-label": `${label(row)}: ${row.stories} stories, change ${change}, tone ${t.text}`,
    }, el("span", {}, label(row)),
       el("span", { class: "num" }, `${row.stories} (${change}) `, el("span", { class: t.cls }, t.text)))));
  }
  if (!rows.length) list.append(el("li", { class: "hint" }, "Nothing with enough stories yet."));
}

// Rising by momentum, with the API's volume guard (3 stories); a small store that has nothing
// above it shows what it has, and says so.
async function rising(kind) {
  const guarded = await api("/top", { kind, limit: 10 });
  if (guarded.body.length) return { rows: guarded.body, few: false };
  return { rows: (await api("/top", { kind, limit: 10, min_stories: 1 })).body, few: true };
}

async function loadRising() {
  const [themes, tickers] = await Promise.all([rising("themes"), rising("tickers")]);
  risingList("rising-themes", themes.rows, (r) => r.theme, (r) => show(r.theme));
  risingList("rising-tickers", tickers.rows, (r) => `${r.entity} ${r.name || ""}`.trim(),
             (r) => show(`${r.type}:${r.entity}`));
  $("rising-themes-title").textContent = themes.few ? "Themes (fewer than 3 stories)" : "Rising themes";
  $("rising-tickers-title").textContent = tickers.few ? "Tickers (fewer than 3 stories)" : "Rising tickers";
}

async function loadComentions() {
  const box = $("comentions-box");
  if (state.kind !== "entity") { box.hidden = true; return; }
  const { body } = await api("/comentions", { entity: state.subject, scope: state.scope, limit: 12 });
  box.hidden = false;
  $("comentions-title").textContent = `Mentioned with ${state.subject}`;
  const list = $("comentions");
  list.replaceChildren();
  for (const row of body) {
    const name = row.kind === "theme" ? row.id : `${row.type}:${row.id}`;
    const t = tone(row.sentiment);
    list.append(el("li", {}, el("button", {
      type: "button", onclick: () => show(name),
      "aria-label": `${name}: ${row.stories} shared stories, lift ${row.lift}`,
    }, el("span", {}, name), el("span", { class: "num" }, `${row.stories} · lift ${row.lift} `,
                                  el("span", { class: t.cls }, t.text)))));
  }
  if (!body.length) list.append(el("li", { class: "hint" }, "No co-mentions."));
}

const ENTITY_KEY = /^(TICKER|INDEX|POLICY|ORG|SECTOR):\S+$/i;

// A search: a theme id, or an entity (TYPE:ID, an id, or part of a name).
async function resolve(text) {
  const wanted = text.trim();
  if (ENTITY_KEY.test(wanted)) return { kind: "entity", subject: wanted.toUpperCase() };
  state.themes = state.themes.length ? state.themes : (await themesLoaded).body.map((t) => t.id);
  if (state.themes.includes(wanted)) return { kind: "theme", subject: wanted };
  const { body } = await api("/entities", { q: wanted, limit: 1 });
  if (!body.length) throw new Error(`nothing in the store matches ${JSON.stringify(wanted)}`);
  return { kind: "entity", subject: `${body[0].type}:${body[0].id}` };
}

async function show(text) {
  try {
    status("Loading...");
    const { kind, subject } = await resolve(text);
    Object.assign(state, { kind, subject, hidden: new Set(), selected: null });
    $("subject").value = subject;
    const params = { freq: state.freq, scope: state.scope };
    params[kind] = subject;
    const comentions = loadComentions();  // beside the timeline, not after it
    const { body, headers } = await api("/trends", params);
    state.rows = body;
    const name = kind === "theme" ? `Who carries ${subject}` : `Narratives around ${subject}`;
    $("timeline-title").textContent = `${name}, by ${{ D: "day", W: "week", M: "month", Q: "quarter" }[state.freq]}`;
    $("timeline-hint").textContent = body.length
      ? "Select a point (click, or Tab to it and press Enter) to read the sentences behind it; " +
        "the legend hides or shows a line."
      : headers.get("X-Note") || "No stories yet.";
    $("evidence").hidden = true;
    drawTimeline();
    history.replaceState(null, "", `#${kind}=${encodeURIComponent(subject)}&freq=${state.freq}&scope=${state.scope}`);
    await comentions;
    status("");
  } catch (error) {
    status(error.message, true);
  }
}

async function suggest() {
  const text = $("subject").value.trim();
  const options = state.themes.filter((t) => t.includes(text.toLowerCase())).slice(0, 6)
    .map((t) => el("option", { value: t }, "theme"));
  if (text.length >= 1) {
    try {
      const { body } = await api("/entities", { q: text, limit: 8 });
      for (const e of body) options.push(el("option", { value: `${e.type}:${e.id}` }, `${e.name || e.id} (${e.stories})`));
    } catch (error) { /* suggestions are a convenience */ }
  }
  $("suggestions").replaceChildren(...options);
}

let themesLoaded = null;

async function start() {
  themesLoaded = api("/themes");
  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    state.freq = $("freq").value;
    state.scope = $("scope").value;
    show($("subject").value);
  });
  let timer = null;
  $("subject").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(suggest, 150); });
  window.addEventListener("resize", () => { if (state.rows.length) drawTimeline(); });
  const hash = new URLSearchParams(location.hash.slice(1));
  const subject = hash.get("entity") || hash.get("theme");
  if (hash.get("freq")) $("freq").value = state.freq = hash.get("freq");
  if (hash.get("scope")) $("scope").value = state.scope = hash.get("scope");
  // The rising lists, the theme ids and a linked subject load side by side.
  const rising = loadRising().catch((error) => status(error.message, true));
  themesLoaded.then((themes) => { state.themes = themes.body.map((t) => t.id); })
    .catch((error) => status(error.message, true));
  if (subject) await show(subject);
  await rising;
  document.body.dataset.ready = "true";
}

start();
