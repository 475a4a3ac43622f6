/* streamcv dashboard: plain JavaScript over the JSON API (no build step, no CDN).
   Charts: vendored uPlot (static/vendor/uplot). All text goes in through textContent. */
"use strict";

const $ = (sel, root) => (root || document).querySelector(sel);
const page = document.body.dataset.page;

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) e.setAttribute(k, v);
  }
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function status(text, isError) {
  const s = $("#status");
  if (s) { s.textContent = text; s.className = isError ? "error" : ""; }
}

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) throw new Error((body && body.error) || (r.status + " " + r.statusText));
  return body;
}

function cookie(name) {
  const m = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return m ? decodeURIComponent(m.slice(name.length + 1)) : "";
}

function fmtTime(iso) {
  if (!iso) return "–";
  return iso.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", " UTC");
}

function fmtNum(v, digits) {
  if (v === null || v === undefined) return "–";
  return Number(v).toFixed(digits === undefined ? 0 : digits);
}

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") p.set(k, v);
  const s = p.toString();
  return s ? "?" + s : "";
}

const enc = encodeURIComponent;

/* charts ------------------------------------------------------------------------------------ */
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
const charts = [];

function drawChart(box, title, t, series) {
  box.textContent = "";
  box.appendChild(el("h3", {}, title));
  const names = Object.keys(series);
  const points = names.reduce((n, k) => n + series[k].filter((v) => v !== null).length, 0);
  box.dataset.points = String(points);
  if (!t.length || !points) {
    box.appendChild(el("p", { class: "muted" }, "no data in this range"));
    return;
  }
  const opts = {
    width: Math.max(300, box.clientWidth - 16), height: 220,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    series: [{ label: "time (UTC)" }].concat(names.map((n, i) => ({
      label: n, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false,
      points: { show: t.length < 60 },
    }))),
    axes: [{}, { size: 50 }],
    legend: { live: true },
  };
  const plot = new uPlot(opts, [t].concat(names.map((n) => series[n])), box);
  charts.push(plot);
}

function mergeSeries(parts) {
  /* parts: [{t, values, name}] -> {t, series} on the union of times (null where missing) */
  const times = Array.from(new Set(parts.flatMap((p) => p.t))).sort((a, b) => a - b);
  const index = new Map(times.map((x, i) => [x, i]));
  const series = {};
  for (const p of parts) {
    const arr = new Array(times.length).fill(null);
    p.t.forEach((x, i) => { arr[index.get(x)] = p.values[i]; });
    series[p.name] = arr;
  }
  return { t: times, series };
}

/* overview ---------------------------------------------------------------------------------- */
async function overview() {
  const box = $("#cards");
  try {
    const data = await getJSON("/api/sources");
    box.textContent = "";
    let open = 0;
    if (!data.sources.length) box.appendChild(el("p", { class: "muted" }, "No sources yet: run `streamcv replay` or `streamcv run` into this database."));
    for (const s of data.sources) {
      const card = el("article", { class: "card", "data-source": s.name });
      card.appendChild(el("a", { class: "title", href: s.url }, s.name));
      const pic = s.live ? s.live + "?t=" + Date.now() : s.latest_image;
      if (pic) {
        const img = el("img", { class: "pic", src: pic, alt: "latest frame of " + s.name });
        // a live source without a frame yet answers 204: show the newest stored picture
        if (s.live) img.addEventListener("error", () => { if (s.latest_image) img.src = s.latest_image; }, { once: true });
        card.appendChild(img);
      } else card.appendChild(el("div", { class: "nopic" }, "no picture stored"));
      const dl = el("dl");
      const f = s.figures || {};
      const rows = [
        ["health", s.health, "state " + String(s.health).split(" ").pop()],
        ["last frame", fmtTime(s.last_ts)],
        ["frames/s", fmtNum(s.fps, 1)],
        ["people now", fmtNum(f.people_now)],
        ["visitors" + (f.day ? " (" + f.day + ")" : ""), fmtNum(f.visitors)],
        ["alerts open", fmtNum(f.alerts_open)],
      ];
      for (const [k, v, cls] of rows) {
        dl.appendChild(el("dt", {}, k));
        dl.appendChild(el("dd", cls ? { class: cls, title: s.health_reason || "" } : {}, v));
      }
      card.appendChild(dl);
      box.appendChild(card);
      open += f.alerts_open || 0;
    }
    navBadge(open);
    status("updated " + new Date().toISOString().slice(11, 19) + " UTC");
  } catch (e) { status(e.message, true); }
}

function navBadge(open) {
  const b = $("#nav-open");
  if (!b) return;
  b.hidden = !open;
  b.textContent = String(open || "");
}

/* camera page ---------------------------------------------------------------------------------- */
function rangeParams(form) {
  const f = new FormData(form);
  const r = f.get("range");
  const run = document.body.dataset.run;
  if (r === "custom") {
    return { since: f.get("since"), until: f.get("until"), run };
  }
  return { range: r, run };
}

async function camera() {
  const src = document.body.dataset.source;
  const form = $("#range");
  const custom = $(".custom", form);
  form.range.addEventListener("change", () => { custom.hidden = form.range.value !== "custom"; });
  form.addEventListener("submit", (ev) => { ev.preventDefault(); loadCamera(src, rangeParams(form)); });
  if (document.body.dataset.live) {
    const img = $("#live");
    img.src = "/live/" + enc(src) + ".mjpg";
  }
  await loadCamera(src, rangeParams(form));
}

async function loadCamera(src, params) {
  const base = "/api/sources/" + enc(src);
  let info;
  try { info = await getJSON(base + qs(params)); } catch (e) { status(e.message, true); return; }
  const rng = info.range;
  const fixed = { since: rng.since, until: rng.until, every: rng.every, run: params.run };
  $("#range-text").textContent = fmtTime(rng.since) + " – " + fmtTime(rng.until) + ", every " + rng.every;
  const sum = $("#summary");
  sum.textContent = "";
  const dl = el("dl");
  const f = info.figures || {};
  for (const [k, v] of [["health", info.health], ["last frame", fmtTime(info.last_ts)], ["frames/s", fmtNum(info.fps, 1)],
    ["people now", fmtNum(f.people_now)], ["visitors (" + (f.day || "–") + ")", fmtNum(f.visitors)], ["alerts open", fmtNum(f.alerts_open)]]) {
    dl.appendChild(el("dt", {}, k)); dl.appendChild(el("dd", {}, v));
  }
  sum.appendChild(dl);
  const still = $("#still");
  if (still) {
    still.hidden = !info.latest_image;
    if (info.latest_image) still.src = info.latest_image;
  }

  const box = $("#charts");
  box.textContent = "";
  document.querySelectorAll("details.more").forEach((d) => d.remove());
  charts.splice(0).forEach((c) => c.destroy());
  const groups = new Map();
  for (const m of info.metrics) {
    const key = m.stage + " · " + m.family;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(m);
  }
  const jobs = [];
  const addChart = (parent, title, loader) => {
    const div = el("div", { class: "chart", "data-title": title });
    parent.appendChild(div);
    div.appendChild(el("h3", {}, title));
    return loader().then((d) => drawChart(div, title, d.t, d.series))
      .catch((e) => { div.appendChild(el("p", { class: "error" }, e.message)); });
  };
  let n = 0;
  const more = el("details", { class: "more" });
  more.appendChild(el("summary", {}, "more metrics"));
  const moreBox = el("div", { class: "charts" });
  more.appendChild(moreBox);
  const deferred = [];
  for (const [title, metrics] of groups) {
    const loader = () => Promise.all(metrics.map((m) => getJSON(base + "/series" + qs({ ...fixed, metric: m.key }))
      .then((d) => ({ t: d.t, values: d.series.mean, name: m.series })))).then(mergeSeries);
    if (n++ < 6) jobs.push(addChart(box, title, loader));
    else deferred.push([title, loader]);
  }
  for (const table of info.tables) {
    jobs.push(addChart(box, table + " per " + rng.every, () => getJSON(base + "/series" + qs({ ...fixed, table }))));
  }
  jobs.push(addChart(box, "frames per " + rng.every, () => getJSON(base + "/series" + qs({ ...fixed, table: "frames" }))));
  if (deferred.length) {
    box.parentNode.appendChild(more);
    more.addEventListener("toggle", () => {
      if (more.open && !moreBox.childElementCount) for (const [t, l] of deferred) addChart(moreBox, t, l);
    });
  }
  await Promise.all(jobs);
  loadHeatmap(src, fixed);
  status("loaded " + new Date().toISOString().slice(11, 19) + " UTC");
}

async function loadHeatmap(src, fixed) {
  const img = $("#heatmap");
  const note = $("#heat-note");
  const list = $("#hotspots");
  list.textContent = "";
  note.textContent = "";
  try {
    const hs = await getJSON("/api/sources/" + enc(src) + "/hotspots" + qs(fixed));
    img.hidden = false;
    img.src = "/api/heatmap.png" + qs({ source: src, ...fixed });
    note.textContent = fmtTime(hs.since) + " – " + fmtTime(hs.until) + ": " + hs.windows + " window(s), " + hs.frames + " frames, " + Number(hs.seconds).toFixed(1) + " s; mean " + Number(hs.mean_people).toFixed(2) + " in view";
    for (const h of hs.hotspots) {
      list.appendChild(el("li", {}, (100 * h.share).toFixed(1) + " % of the time at (" + Math.round(h.x) + ", " + Math.round(h.y) + ") px"));
    }
  } catch (e) {
    img.hidden = true;
    img.removeAttribute("src");
    note.textContent = e.message;
  }
}

/* alerts ------------------------------------------------------------------------------------- */
async function alertsPage() {
  const form = $("#alert-filter");
  form.addEventListener("change", loadAlerts);
  await loadAlerts();
  setInterval(loadAlerts, 5000);
}

let lastAlerts = null;

async function loadAlerts() {
  const f = new FormData($("#alert-filter"));
  const body = $("#alerts tbody");
  let data;
  try {
    data = await getJSON("/api/alerts" + qs({ source: f.get("source"), state: f.get("state"), acked: f.get("acked") }));
  } catch (e) { status(e.message, true); return; }
  navBadge(data.open);
  status("updated " + new Date().toISOString().slice(11, 19) + " UTC");
  const key = JSON.stringify(data.alerts);
  if (key === lastAlerts) return;  // unchanged: keep the rows (and any button being clicked)
  lastAlerts = key;
  body.textContent = "";
  if (!data.alerts.length) {
    const tr = el("tr");
    tr.appendChild(el("td", { colspan: "10", class: "muted" }, "no alerts"));
    body.appendChild(tr);
  }
  for (const a of data.alerts) {
    const tr = el("tr", { "data-alert": a.id });
    tr.appendChild(el("td", {}, a.id));
    tr.appendChild(el("td", {}, fmtTime(a.ts)));
    const src = el("td");
    src.appendChild(el("a", { href: "/sources/" + enc(a.source) }, a.source));
    tr.appendChild(src);
    tr.appendChild(el("td", { title: a.message || "" }, a.rule));
    tr.appendChild(el("td", {}, a.zone || "–"));
    tr.appendChild(el("td", { class: "state " + a.state }, a.state));
    tr.appendChild(el("td", {}, a.duration_s === null ? "–" : Number(a.duration_s).toFixed(1) + " s"));
    tr.appendChild(el("td", {}, a.peak === null ? "–" : Number(a.peak).toFixed(3)));
    const snap = el("td");
    if (a.snapshot_url) {
      const link = el("a", { href: a.snapshot_url, target: "_blank", rel: "noopener" });
      link.appendChild(el("img", { class: "thumb", src: a.snapshot_url, alt: "snapshot of alert " + a.id }));
      snap.appendChild(link);
    } else snap.textContent = "–";
    tr.appendChild(snap);
    const ack = el("td", { class: "ack" });
    if (a.acked_at) ack.textContent = "by " + a.acked_by + " at " + fmtTime(a.acked_at);
    else {
      const b = el("button", { type: "button", "data-ack": a.id }, "Acknowledge");
      b.addEventListener("click", () => acknowledge(a.id, b));
      ack.appendChild(b);
    }
    tr.appendChild(ack);
    body.appendChild(tr);
  }
}

async function acknowledge(id, button) {
  button.disabled = true;
  try {
    const r = await fetch("/api/alerts/" + id + "/ack", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": cookie("streamcv_csrf") },
      body: JSON.stringify({ by: "dashboard" }),
    });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    await loadAlerts();
  } catch (e) { button.disabled = false; status(e.message, true); }
}

/* demographics --------------------------------------------------------------------------------- */
async function demographicsPage() {
  const form = $("#demo-filter");
  form.addEventListener("change", loadDemographics);
  await loadDemographics();
}

async function loadDemographics() {
  const f = new FormData($("#demo-filter"));
  let data;
  try { data = await getJSON("/api/demographics" + qs({ source: f.get("source"), range: f.get("range") })); }
  catch (e) { status(e.message, true); return; }
  const rng = data.range;
  $("#range-text").textContent = fmtTime(rng.since) + " – " + fmtTime(rng.until) + ", every " + rng.every;
  charts.splice(0).forEach((c) => c.destroy());
  const box = $("#demo-chart");
  box.textContent = "";
  const div = el("div", { class: "chart" });
  box.appendChild(div);
  drawChart(div, "visitors per " + rng.every + " by age band and gender", data.t, data.series);
  const body = $("#demo-totals tbody");
  body.textContent = "";
  for (const row of data.totals) {
    const tr = el("tr");
    tr.appendChild(el("td", {}, row.age_band));
    tr.appendChild(el("td", {}, row.gender));
    tr.appendChild(el("td", {}, row.visitors));
    body.appendChild(tr);
  }
  status("loaded");
}

/* runs ------------------------------------------------------------------------------------------ */
async function runsPage() {
  const body = $("#runs tbody");
  let data;
  try { data = await getJSON("/api/runs"); } catch (e) { status(e.message, true); return; }
  body.textContent = "";
  for (const r of data.runs) {
    const tr = el("tr", { "data-run": r.id });
    for (const v of [r.id, r.kind, r.pipeline]) tr.appendChild(el("td", {}, v));
    tr.appendChild(el("td", { class: "state " + r.status }, r.status));
    for (const v of [fmtTime(r.started_at), fmtTime(r.finished_at), fmtNum(r.frames), fmtNum(r.fps, 1)]) tr.appendChild(el("td", {}, v));
    const td = el("td");
    r.sources.forEach((s, i) => {
      if (i) td.appendChild(document.createTextNode(", "));
      td.appendChild(el("a", { href: "/sources/" + enc(s) + "?run=" + r.id }, s));
    });
    tr.appendChild(td);
    body.appendChild(tr);
  }
  status("loaded");
}

/* start ---------------------------------------------------------------------------------------- */
window.addEventListener("DOMContentLoaded", () => {
  if (page === "overview") { overview(); setInterval(overview, 5000); }
  else if (page === "camera") camera();
  else if (page === "alerts") alertsPage();
  else if (page === "demographics") demographicsPage();
  else if (page === "runs") runsPage();
});
