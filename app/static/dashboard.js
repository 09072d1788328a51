"use strict";
// The dashboard: a thin client of the JSON API (POST /profile, /compare, GET /profiles, /jobs). No build step.

const $ = (id) => document.getElementById(id);
const COLORS = { a: "#2563eb", b: "#ea580c" };
const FIGURES = [
  ["macs", "MACs"], ["flops", "FLOPs"], ["fvcore_flops", "fvcore flops"], ["params", "parameters"],
  ["activations", "activations"],
];
const CHARTED = [["macs", "MACs"], ["params", "parameters"], ["activations", "activations"]];
// What bounds a layer (the roofline's verdict), as bar colours; layers with no verdict are grey.
const BOUND_COLORS = { compute: "#2563eb", memory: "#ea580c", overhead: "#9ca3af" };
const NO_BOUND = "#d1d5db";
const ROOF_COLOR = "#111827";
const BUDGET_COLOR = "#b91c1c";
const [POINT_COLOR, FRONT_COLOR, OVER_BUDGET_COLOR] = ["#93c5fd", "#111827", "#d1d5db"];
// Predicted latency: its bars, and a predictor's held-out designs against the exact line and the ±10% band.
const PREDICTED_COLOR = "#7c3aed";
const [WITHIN_COLOR, OUTSIDE_COLOR, EXACT_COLOR, BAND_COLOR] = ["#2563eb", "#ea580c", "#111827", "rgba(22, 163, 74, 0.18)"];
const BLOCK_PALETTE = ["#2563eb", "#ea580c", "#059669", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777"];
const charts = [];
const FIELD_NAMES = { width_multiplier: "α", resolution: "ρ" };
let currentJobs = [];
let shown = null;

class ApiError extends Error {}

function authHeaders() {
  const token = localStorage.getItem("profiler-token");
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function describe(status, data) {
  const detail = data && data.detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).filter((x) => x !== "body").join(".") || "request"}: ${d.msg}`).join("\n");
  }
  if (typeof detail === "string") return detail;
  return `HTTP ${status}: ${typeof data === "string" ? data : JSON.stringify(data)}`;
}

async function api(method, path, body) {
  const headers = { ...authHeaders() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let data = text;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON: keep the text */ }
  if (r.status === 401) $("token-box").hidden = false;
  if (!r.ok) throw new ApiError(describe(r.status, data));
  return { status: r.status, data };
}

const full = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));
function short(n) {
  const units = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [size, unit] of units) if (Math.abs(n) >= size) return `${Number((n / size).toPrecision(4))} ${unit}`;
  return String(n);
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function setBusy(busy, text = "") {
  $("run").disabled = busy;
  working($("status"), busy ? text : "");
  if (!busy && text) $("status").textContent = text;
}

// A status line while something runs: a spinner and what it is doing.
function working(status, text) {
  if (!text) { status.replaceChildren(); return; }
  status.replaceChildren(Object.assign(document.createElement("span"), { className: "spinner" }), text);
}

// The answer arrived: the status line names it with a link to it, and the page scrolls to it. One answer at a
// time: a profile or comparison replaces a sweep's answer and the other way round.
function arrived(status, section, title) {
  const link = Object.assign(document.createElement("a"), { href: `#${section.id}`, textContent: title, className: "to-answer" });
  link.addEventListener("click", (event) => { event.preventDefault(); section.scrollIntoView({ block: "start" }); });
  status.replaceChildren("Done: ", link);
  section.scrollIntoView({ block: "start" });
}

// ---- names -----------------------------------------------------------------------------------------------

const resolutionText = (r) => [].concat(r).join("×");

// A spec's first rows, as its name when it has none: "conv c64 k3, depthwise_separable c128 (+2 more)".
function rowsName(spec) {
  const stages = (spec && spec.stages) || [];
  if (!stages.length) return "empty spec";
  const row = (st) => [st.block, st.c !== undefined ? `c${st.c}` : "", st.k ? `k${st.k}` : "", st.n > 1 ? `×${st.n}` : "",
    st.s > 1 ? `s${st.s}` : ""].filter(Boolean).join(" ");
  const more = stages.length > 2 ? ` (+${stages.length - 2} more)` : "";
  return stages.slice(0, 2).map(row).join(", ") + more;
}

// A design's name: the user's name, else the preset, else the spec's first rows; then its α and ρ.
// ``d``: a report ({name, preset, spec}) or a stored list's summary ({name, preset, width_multiplier, resolution}).
function designName(d, spec = d.spec) {
  const base = d.name && d.name !== "None" ? d.name : d.preset || (spec ? rowsName(spec) : "custom spec");
  const width = spec ? spec.width_multiplier : d.width_multiplier;
  const resolution = spec ? spec.resolution : d.resolution;
  return `${base}${width !== undefined && width !== null ? ` α ${width}` : ""}${resolution !== undefined && resolution !== null ? ` ρ ${resolutionText(resolution)}` : ""}`;
}

// A layer's name short enough for an axis (the full name is the tooltip's title): as is when it fits; else the
// segments a comparison's two names share said once ("features.0: conv | conv_dw"); then, from the front, each
// segment but the last cut to its first letter and its digits ("f.0.conv_dw", "l1.0.conv1"); then its end.
const AXIS_CHARS = 22;
function shortLabel(label, max = AXIS_CHARS) {
  const text = String(label);
  if (text.length <= max) return text;
  const segment = (p) => (/^[A-Za-z_]{3,}\d*$/.test(p) ? p[0] + p.replace(/\D/g, "") : p);
  // Names as lists of segments ([segments, how many may be cut]), joined by render; cut front to back until it fits.
  const shorten = (names, render) => {
    for (const [parts, n] of names) {
      for (let i = 0; i < n && render().length > max; i++) parts[i] = segment(parts[i]);
    }
    return render();
  };
  const sides = text.split(" | ");
  let out;
  if (sides.length === 2) {
    const [pa, pb] = sides.map((x) => x.split("."));
    let k = 0;
    while (k < pa.length - 1 && k < pb.length - 1 && pa[k] === pb[k]) k++;
    const shared = pa.slice(0, k);
    const [ra, rb] = [pa.slice(k), pb.slice(k)];
    out = shorten([[shared, shared.length], [ra, ra.length - 1], [rb, rb.length - 1]], () => `${shared.length ? `${shared.join(".")}: ` : ""}${ra.join(".")} | ${rb.join(".")}`);
  } else {
    const words = text.split(" ").map((w) => w.split("."));
    out = shorten(words.map((w) => [w, w.length - 1]), () => words.map((w) => w.join(".")).join(" "));
  }
  return out.length > max ? `…${out.slice(-(max - 1))}` : out;
}

// ---- inputs ----------------------------------------------------------------------------------------------

async function fillPreset(side) {
  const name = $(`preset-${side}`).value;
  if (!name) return;
  const { data } = await api("GET", `/presets/${encodeURIComponent(name)}`);
  $(`spec-${side}`).value = JSON.stringify(data.spec, null, 1);
}

function specOf(side) {
  const label = side.toUpperCase();
  const text = $(`spec-${side}`).value.trim();
  let spec;
  if (text) {
    try { spec = JSON.parse(text); } catch (e) { throw new ApiError(`spec ${label} is not valid JSON: ${e.message}`); }
    if (spec === null || typeof spec !== "object" || Array.isArray(spec)) throw new ApiError(`spec ${label} must be a JSON object`);
  } else if ($(`preset-${side}`).value) {
    spec = { preset: $(`preset-${side}`).value };
  } else {
    throw new ApiError(`spec ${label}: choose a preset or paste a spec`);
  }
  const width = $(`width-${side}`).value;
  const resolution = $(`resolution-${side}`).value;
  if (width !== "") spec.width_multiplier = Number(width);
  if (resolution !== "") spec.resolution = Number(resolution);
  return spec;
}

const checkedRuntimes = () => {
  const runtimes = [...document.querySelectorAll('input[name="runtime"]:checked')].map((box) => box.value);
  return runtimes.length ? runtimes : ["eager"];
};

function latencyOptions() {
  if (!$("latency-on").checked && !$("predict").checked) return null;
  if ($("predict").checked) {  // answered at once from the predictors, per layer too
    return { devices: [$("latency-device").value], runtimes: checkedRuntimes(), predict: true };
  }
  const runtimes = checkedRuntimes();
  return {
    devices: [$("latency-device").value],
    runtimes,
    per_layer: $("per-layer").checked,
    budget_s: Number($("budget").value || 10),
    job: true,
  };
}

// The memory options, when they differ from the server's defaults (float32, no in-place, no budget).
function memoryOptions() {
  const options = {};
  if ($("memory-dtype").value !== "float32") options.dtype = $("memory-dtype").value;
  if ($("memory-inplace-dw").checked) options.inplace_depthwise = true;
  if ($("memory-budget").value !== "") options.budget_bytes = Number($("memory-budget").value);
  return Object.keys(options).length ? options : null;
}

// What a run is doing, for the status line: "profiling mobilenet_v2 α 0.75 ρ 160…".
function runningText(spec, other) {
  const name = (sp) => designName(sp, sp);
  return other ? `comparing ${name(spec)} with ${name(other)}…` : `profiling ${name(spec)}…`;
}

async function run() {
  $("error").hidden = true;
  setBusy(true, "starting…");
  try {
    const batch = Number($("batch-a").value || 1);
    const latency = latencyOptions();
    if ($("compare-mode").checked) {
      const a = specOf("a");
      const b = specOf("b");
      setBusy(true, runningText(a, b));
      // With latency, /compare times A against B in alternating chunks: B / A with its interval per runtime.
      const body = { a, b, batch_size: batch, ...(latency ? { latency: { ...latency, per_layer: false } } : {}) };
      const { status, data: answer } = await api("POST", "/compare", body);
      const data = status === 202 ? (await follow([[answer.id, "A vs B"]]))[0] : answer;
      if (latency && latency.predict) {  // predicted per-layer bars: each side's prediction, at once
        const answers = await Promise.all([a, b].map((spec) => api("POST", "/profile", { ...spec, batch_size: batch, latency })));
        data.timed = answers.map(({ data: answer }) => answer);
      } else if (latency && latency.per_layer) {  // per-layer bars: each side measured as its own profile job
        const jobs = await Promise.all([a, b].map((spec) => api("POST", "/profile", { ...spec, batch_size: batch, latency })));
        const [timedA, timedB] = await follow(jobs.map(({ data: job }, i) => [job.id, i ? "B" : "A"]));
        data.timed = [timedA, timedB];
      }
      show(data);
      arrived($("status"), $("result"), $("result-title").textContent);
    } else {
      const body = { ...specOf("a"), batch_size: batch };
      setBusy(true, runningText(body));
      if (latency) body.latency = latency;
      if (memoryOptions()) body.memory = memoryOptions();
      const { status, data } = await api("POST", "/profile", body);
      show(status === 202 ? (await follow([[data.id, ""]]))[0] : data);
      arrived($("status"), $("result"), $("result-title").textContent);
    }
    $("run").disabled = false;
  } catch (e) {
    setBusy(false, "Failed: see the message below.");
    showError(e instanceof ApiError ? e.message : `unexpected error: ${e}`);
  }
  refreshRecent();
}

// ---- latency jobs ----------------------------------------------------------------------------------------

// Poll each job ([id, label]) until all are done; their reports, in order.
async function follow(jobs) {
  currentJobs = jobs.map(([id]) => id);
  $("cancel").hidden = false;
  $("progress").hidden = false;
  const reports = new Array(jobs.length).fill(null);
  try {
    for (;;) {
      const lines = [];
      for (const [i, [id, side]] of jobs.entries()) {
        const { data } = await api("GET", `/jobs/${id}`);
        for (const d of data.devices) {
          const line = document.createElement("div");
          const bar = document.createElement("progress");
          bar.max = d.steps_total || 1;
          bar.value = d.steps_done;
          line.append(`${side ? side + " " : ""}${d.device}: `, bar,
            ` ${d.steps_done} / ${d.steps_total || "?"} steps · ${d.elapsed_s.toFixed(1)} s · ${d.state}`);
          lines.push(line);
        }
        if (data.report) {
          if (data.state === "cancelled") throw new ApiError("the measurement was cancelled");
          reports[i] = data.report;
        }
      }
      $("progress").replaceChildren(...lines);
      const left = reports.filter((r) => r === null).length;
      setBusy(true, `measuring latency${jobs.length > 1 ? ` (${jobs.length - left} of ${jobs.length} done)` : ""}…`);
      if (!left) return reports;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  } finally {
    currentJobs = [];
    $("cancel").hidden = true;
    $("progress").hidden = true;
  }
}

async function cancel() {
  await Promise.all(currentJobs.map((id) => api("DELETE", `/jobs/${id}`)));
}

// ---- results ---------------------------------------------------------------------------------------------

function show(result) {
  shown = result;
  $("result").hidden = false;
  $("sweep-result").hidden = true;  // one answer at a time
  const isCompare = "a" in result && "b" in result;
  const title = isCompare ? `${label(result.a)} vs ${label(result.b)}` : label(result);
  $("result-title").textContent = title;
  const how = isCompare && result.alignment ? ` · layers aligned ${result.alignment.how}` : "";
  $("result-meta").textContent = `${when(result.created)}${result.cached ? " · answered from the store" : ""}${how}`;
  $("result-meta").title = `stored as ${result.id}`;
  const url = new URL(location.href);
  url.search = `?id=${encodeURIComponent(result.id)}`;
  if (result.timed) url.search += `&latency=${result.timed.map((r) => encodeURIComponent(r.id)).join(",")}`;
  history.replaceState(null, "", url);
  $("share").href = url.toString();
  $("csv").href = `/profiles/${encodeURIComponent(result.id)}/layers.csv`;
  if (isCompare) {
    const [timedA, timedB] = result.timed || [{}, {}];
    const sides = [["a", { ...result.a, latency: timedA.latency }], ["b", { ...result.b, latency: timedB.latency }]];
    totalsTable([["a", "A", result.a], ["b", "B", result.b]], result.ratios);
    drawCharts(sides, result.aligned_layers);
    latencySummary(sides);
    pairedSummary(result.latency || []);
  } else {
    totalsTable([["a", "value", result]], null);
    drawCharts([["a", result]]);
    latencySummary([["a", result]]);
  }
}

function label(report) {
  return `${designName(report)}, batch ${report.batch_size}`;
}

const when = (created) => `${created.replace("T", " ").slice(0, 19)} UTC`;

function totalsTable(columns, ratios) {
  const head = document.createElement("tr");
  head.append(...["total", ...columns.map(([, header]) => header), ...(ratios ? ["B / A"] : [])].map((text) => {
    const th = document.createElement("th");
    th.textContent = text;
    return th;
  }));
  const rows = FIGURES.map(([key, name]) => {
    const tr = document.createElement("tr");
    tr.dataset.figure = key;
    const th = document.createElement("td");
    th.textContent = name;
    tr.append(th);
    for (const [side, , report] of columns) {
      const td = document.createElement("td");
      const value = report.totals[key];
      td.dataset.side = side;
      td.dataset.value = String(value);
      td.textContent = full(value);
      const small = document.createElement("span");
      small.className = "short";
      small.textContent = short(value);
      td.append(small);
      tr.append(td);
    }
    if (ratios) {
      const td = document.createElement("td");
      td.dataset.side = "ratio";
      td.textContent = ratios[key] === null ? "–" : `${ratios[key].toFixed(3)}×`;
      tr.append(td);
    }
    return tr;
  });
  $("totals").replaceChildren(head, ...rows);
}

// One row per side and device: median, 95% CI, CV, repeats, why it stopped, and the verdict.
const runtimeName = (lat) => (lat.runtime && lat.runtime.name) || "eager";
const runtimeLabel = (lat) => {
  const runtime = lat.runtime || { name: "eager" };
  const prepared = runtime.prepare_s ? `, prepared in ${runtime.prepare_s.toFixed(1)} s` : "";
  return `${runtime.name}${runtime.version ? " " + runtime.version : ""}${prepared}`;
};

function latencySummary(sides) {
  const timed = sides.flatMap(([side, report]) => (report.latency || []).map((lat) => [side, lat]));
  if (!timed.length) {
    $("latency-summary").replaceChildren();
    return;
  }
  if (timed.every(([, lat]) => lat.method === "predicted")) {
    predictedSummary(timed, sides.length > 1);
    return;
  }
  const both = sides.length > 1;
  const table = document.createElement("table");
  table.className = "latency";
  table.id = "latency-table";
  table.createCaption().textContent = `latency, end to end: ${timed[0][1].method || ""}`;
  const heads = [...(both ? ["side"] : []), "device", "runtime", "median ms", "95% CI ms", "CV", "repeats", "stopped", "verdict", "per layer"];
  table.createTHead().insertRow().append(...heads.map((h) => Object.assign(document.createElement("th"), { textContent: h })));
  const body = table.createTBody();
  const warnings = [];
  for (const [side, lat] of timed) {
    const row = body.insertRow();
    row.dataset.side = side;
    row.dataset.device = lat.device;
    const cell = (text, cls) => Object.assign(row.insertCell(), { textContent: text, className: cls || "" });
    if (both) cell(side.toUpperCase(), "text");
    cell(lat.device_name ? `${lat.device} (${lat.device_name})` : lat.device, "text");
    row.dataset.runtime = runtimeName(lat);
    cell(runtimeLabel(lat), "text");
    if (!lat.end_to_end) {
      const failed = cell(lat.error || "no figures", "text");
      failed.colSpan = 7;
      continue;
    }
    const e = lat.end_to_end;
    const verdict = (lat.quality && lat.quality.verdict) || "";
    cell(e.median_ms.toFixed(3)).dataset.value = String(e.median_ms);
    cell(`${e.ci95_ms[0].toFixed(3)} – ${e.ci95_ms[1].toFixed(3)}`);
    cell(`${(100 * e.cv).toFixed(1)}%`);
    cell(String(e.repeats));
    cell(e.stop, "text");
    cell(verdict, `text verdict-${verdict}`);
    const perLayer = lat.per_layer;
    cell(!perLayer ? "–" : perLayer.sum_over_end_to_end == null ? perLayer.how
      : `sum ${(perLayer.sum_in_typical_forwards_ms ?? perLayer.sum_of_medians_ms).toFixed(3)} ms = ${perLayer.sum_over_end_to_end.toFixed(2)}× (${perLayer.method})`, "text");
    if (verdict === "noisy") {
      const warning = document.createElement("div");
      warning.className = "warning";
      warning.dataset.device = lat.device;
      warning.textContent = `⚠ noisy measurement on ${both ? side.toUpperCase() + " " : ""}${lat.device}, do not trust it: ${lat.quality.reasons.join("; ")}`;
      warnings.push(warning);
    }
  }
  $("latency-summary").replaceChildren(table, ...warnings);
}

const pct = (v) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(v >= 0.995 || v === 0 ? 0 : 1)}%`);

// A predictor's held-out accuracy in words: "83% within ±5%, 100% within ±10%, MAPE 3.0%, Spearman 1.000".
function accuracyText(acc) {
  if (!acc) return "–";
  const spearman = acc.spearman === null || acc.spearman === undefined ? "–" : acc.spearman.toFixed(3);
  return `${pct(acc.within_10pct)} within ±10%, ${pct(acc.within_5pct)} within ±5%, MAPE ${pct(acc.mape)}, ` +
    `Spearman ${spearman} (${acc.designs} held-out designs)`;
}

const predictorText = (p) => (p ? `${p.runtime} on ${p.device}${p.device_name ? ` (${p.device_name})` : ""}, fitted ${when(p.fitted_at)} on ${p.designs} designs` : "");

// A badge that says a figure is predicted, not measured.
const predictedBadge = () => Object.assign(document.createElement("span"), { className: "badge predicted", textContent: "predicted" });

// An extrapolated prediction: a visible warning with the reasons (the first few).
function extrapolatedWarning(where, reasons) {
  const warning = document.createElement("div");
  warning.className = "warning extrapolated";
  const list = reasons || [];
  const shownReasons = list.slice(0, 3).join("; ") + (list.length > 3 ? `; and ${list.length - 3} more` : "");
  warning.textContent = `⚠ extrapolated${where ? ` (${where})` : ""}: the design lies outside what the predictor ` +
    `measured, so its interval is widened; do not trust the number${shownReasons ? `: ${shownReasons}` : ""}`;
  warning.title = list.join("\n");
  return warning;
}

// Predicted latency (profile, or each side of a comparison): the prediction and its interval, marked as
// predicted, with the predictor's held-out accuracy; a warning where the design lies outside its data.
function predictedSummary(timed, both) {
  const table = document.createElement("table");
  table.className = "latency predicted";
  table.id = "latency-table";
  const caption = table.createCaption();
  caption.append("latency, end to end: ", predictedBadge(), " from a predictor, not measured");
  const heads = [...(both ? ["side"] : []), "device", "runtime", "predicted median ms", "interval ms", "predictor's held-out accuracy", "predictor"];
  table.createTHead().insertRow().append(...heads.map((h) => Object.assign(document.createElement("th"), { textContent: h })));
  const body = table.createTBody();
  const warnings = [];
  for (const [side, lat] of timed) {
    const row = body.insertRow();
    row.dataset.side = side;
    row.dataset.device = lat.device;
    row.dataset.runtime = runtimeName(lat);
    row.dataset.method = "predicted";
    const cell = (text, cls) => Object.assign(row.insertCell(), { textContent: text, className: cls || "" });
    if (both) cell(side.toUpperCase(), "text");
    cell(lat.device_name ? `${lat.device} (${lat.device_name})` : lat.device, "text");
    cell(runtimeName(lat), "text");
    const e = lat.end_to_end;
    const median = cell(`${e.median_ms.toFixed(3)} `);
    median.dataset.value = String(e.median_ms);
    median.append(predictedBadge());
    cell(`${e.low_ms.toFixed(3)} – ${e.high_ms.toFixed(3)}${lat.extrapolated ? " (widened)" : ""}`).title = e.interval_how || "";
    const p = lat.predictor || {};
    cell(accuracyText(p.held_out_accuracy), "text wrap accuracy");
    cell(predictorText(p), "text wrap").title = p.interval || "";
    if (lat.extrapolated) {
      row.classList.add("extrapolated");
      const warning = extrapolatedWarning(`${both ? side.toUpperCase() + " " : ""}${lat.device} ${runtimeName(lat)}`, lat.extrapolated_because);
      warning.dataset.device = lat.device;
      warnings.push(warning);
    }
  }
  $("latency-summary").replaceChildren(table, ...warnings);
}

// /compare's predicted latency: A's and B's predictions, B over A, the predictor's accuracy.
function predictedPairedSummary(entries) {
  const table = document.createElement("table");
  table.className = "latency predicted";
  table.id = "compare-latency-table";
  const caption = table.createCaption();
  caption.append("latency, B / A: ", predictedBadge(), " from a predictor, not measured");
  const heads = ["device", "runtime", "A predicted ms", "B predicted ms", "B / A", "predictor's held-out accuracy"];
  table.createTHead().insertRow().append(...heads.map((h) => Object.assign(document.createElement("th"), { textContent: h })));
  const body = table.createTBody();
  const warnings = [];
  for (const entry of entries) {
    const row = body.insertRow();
    row.dataset.device = entry.device;
    row.dataset.runtime = runtimeName(entry);
    row.dataset.method = "predicted";
    const cell = (text, cls) => Object.assign(row.insertCell(), { textContent: text, className: cls || "" });
    cell(entry.device_name ? `${entry.device} (${entry.device_name})` : entry.device, "text");
    cell(runtimeName(entry), "text");
    for (const side of [entry.a, entry.b]) cell(`${side.median_ms.toFixed(3)} (${side.low_ms.toFixed(3)} – ${side.high_ms.toFixed(3)})`);
    cell(`${entry.b_over_a.toFixed(3)}×`).dataset.value = String(entry.b_over_a);
    cell(accuracyText(entry.predictor && entry.predictor.held_out_accuracy), "text wrap accuracy");
    if (entry.extrapolated) warnings.push(extrapolatedWarning(`${entry.device} ${runtimeName(entry)}, A or B`, []));
  }
  $("latency-summary").append(table, ...warnings);
}

// /compare's paired latency: per device and runtime, B's median over A's with its 95% interval and verdict.
function pairedSummary(entries) {
  if (!entries.length) return;
  if (entries.every((e) => e.method === "predicted")) {
    predictedPairedSummary(entries);
    return;
  }
  const table = document.createElement("table");
  table.className = "latency";
  table.id = "compare-latency-table";
  table.createCaption().textContent = `latency, B / A: ${entries[0].method || ""}`;
  const heads = ["device", "runtime", "A median ms", "B median ms", "B / A", "95% interval", "pairs", "verdict"];
  table.createTHead().insertRow().append(...heads.map((h) => Object.assign(document.createElement("th"), { textContent: h })));
  const body = table.createTBody();
  for (const entry of entries) {
    const row = body.insertRow();
    row.dataset.device = entry.device;
    row.dataset.runtime = runtimeName(entry);
    const cell = (text, cls) => Object.assign(row.insertCell(), { textContent: text, className: cls || "" });
    cell(entry.device_name ? `${entry.device} (${entry.device_name})` : entry.device, "text");
    cell(runtimeLabel({ runtime: entry.runtime && { name: entry.runtime.name, version: entry.runtime.version } }), "text");
    if (entry.b_over_a == null) {
      cell(entry.error || "no figures", "text").colSpan = 6;
      continue;
    }
    cell(entry.a.median_ms.toFixed(3));
    cell(entry.b.median_ms.toFixed(3));
    cell(`${entry.b_over_a.toFixed(3)}×`).dataset.value = String(entry.b_over_a);
    cell(`${entry.ci95[0].toFixed(3)} – ${entry.ci95[1].toFixed(3)}`);
    cell(String(entry.pairs));
    cell(entry.verdict, "text");
  }
  $("latency-summary").append(table);
}

// Layer names of every side in execution order: a's, with b's own names placed after their predecessor.
function layerOrder(sides) {
  const order = [];
  for (const [, report] of sides) {
    let at = -1;
    for (const layer of report.layers) {
      const i = order.indexOf(layer.name);
      if (i >= 0) { at = i; continue; }
      order.splice(at + 1, 0, layer.name);
      at += 1;
    }
  }
  return order;
}

// The chart's x axis: one slot per layer, or per aligned pair when comparing (A's and B's bars side by side
// in one slot, whatever the layers are named); each slot names, per side, the layer it shows.
function slotsOf(sides, aligned) {
  if (aligned) {
    return aligned.map((row) => ({
      label: row.name[0] === row.name[1] ? row.name[0] : `${row.name[0] ?? "–"} | ${row.name[1] ?? "–"}`,
      names: row.name,
    }));
  }
  return layerOrder(sides).map((name) => ({ label: name, names: sides.map(() => name) }));
}

function drawCharts(sides, aligned) {
  while (charts.length) charts.pop().destroy();
  const everyLayer = $("all-layers").checked;
  const byName = sides.map(([, report]) => new Map(report.layers.map((l) => [l.name, l])));
  const slots = slotsOf(sides, aligned).filter((slot) => everyLayer || slot.names.some((n, i) => (byName[i].get(n)?.macs ?? 0) > 0));
  const names = slots.map((slot) => slot.label);
  const both = sides.length > 1;
  // A and B by colour, each named by its design; a single design's bars in A's colour, named by the figure.
  const sideItems = (title) => sides.map(([side, report]) => ({ label: both ? `${side.toUpperCase()}: ${designName(report)}` : title, color: COLORS[side] }));
  const boxes = CHARTED.map(([key, title]) => chartBox(key, `${title} per layer`, names, sides.map(([side], i) => ({
    label: both ? side.toUpperCase() : title,
    data: slots.map((slot) => byName[i].get(slot.names[i])?.[key] ?? null),
    backgroundColor: COLORS[side],
  })), sideItems(title)));
  const timed = sides.flatMap(([side, report]) => (report.latency || []).filter((l) => l.per_layer).map((l) => [side, l]));
  if (timed.length) {
    const which = everyLayer ? "every layer" : "conv/linear layers";
    const predicted = timed.every(([, lat]) => lat.method === "predicted");
    const how = predicted ? "predicted from each layer's shape, not measured"
      : timed[0][1].per_layer.method === "isolated" ? "each timed alone" : "in context";
    const series = timed.map(([side, lat]) => {
      const where = runtimeName(lat) === "eager" ? lat.device : `${lat.device} ${runtimeName(lat)}`;
      return `${both ? `${side.toUpperCase()} ` : ""}${where}${predicted ? " (predicted)" : ""}`;
    });
    const bounds = new Set(timed.flatMap(([, lat]) => lat.per_layer.layers.map((x) => x.bound || "none")));
    const items = predicted ? [{ label: "predicted time (no roofline verdict)", color: PREDICTED_COLOR }] : [
      ...Object.entries(BOUND_COLORS).map(([bound, color]) => ({ label: `${bound}-bound`, color, muted: !bounds.has(bound) })),
      { label: "no verdict", color: NO_BOUND, muted: !bounds.has("none") },
    ];
    items.push(
      ...(both ? sides.map(([side]) => ({ label: `outline: ${side.toUpperCase()}`, color: COLORS[side], kind: "outline" })) : []),
      ...(series.length > 1 ? [{ label: `bars in each slot, left to right: ${series.join(", ")}`, kind: "text" }] : []),
    );
    const coloured = predicted ? "" : ", coloured by what bounds it";
    boxes.push(chartBox("latency", `latency per layer (median ms, ${how}; ${which})${coloured}`, names, timed.map(([side, lat], k) => {
      // A runtime's row (a fused node) stands at the first spec layer it covers.
      const byLayer = new Map(lat.per_layer.layers.map((x) => [x.layers && x.layers.length ? x.layers[0] : x.name, x]));
      const at = side === "b" ? 1 : 0;
      return {
        label: series[k],
        data: slots.map((slot) => byLayer.get(slot.names[at])?.median_ms ?? null),
        backgroundColor: slots.map((slot) => (predicted ? PREDICTED_COLOR : BOUND_COLORS[byLayer.get(slot.names[at])?.bound] || NO_BOUND)),
        borderColor: COLORS[side],
        borderWidth: both ? 1 : 0,
      };
    }), items));
    if (!predicted) boxes.push(rooflineBox(timed));  // a prediction has no achieved FLOP/s to place
  }
  const withMemory = sides.filter(([, report]) => report.memory);
  if (withMemory.length) boxes.push(memoryBox(withMemory));
  $("charts").replaceChildren(...boxes);
}

// Bytes alive over the forward (every layer and op in execution order), deployment and eager, the peak marked;
// the device's budget as a line when one was given.
function memoryBox(sides) {
  const describe = ([side, report]) => {
    const m = report.memory;
    const fits = m.budget_bytes == null ? "" : m.fits ? `, fits in ${short(m.budget_bytes)}B` : `, over the ${short(m.budget_bytes)}B budget`;
    return `${sides.length > 1 ? side.toUpperCase() + ": " : ""}peak ${short(m.peak_activation_bytes)}B at ${m.peak_layer}${fits}`;
  };
  const title = `activation memory over the forward (${sides[0][1].memory.dtype}; ${sides.map(describe).join("; ")})`;
  const longest = sides.reduce((a, b) => (b[1].memory.timeline.length > a[1].memory.timeline.length ? b : a));
  const labels = longest[1].memory.timeline.map((step, i) => `${i} ${step.name}`);
  const datasets = [];
  const items = [];
  for (const [side, report] of sides) {
    const m = report.memory;
    const peakAt = m.timeline.findIndex((step) => step.name === m.peak_layer);
    const prefix = sides.length > 1 ? `${side.toUpperCase()} ` : "";
    datasets.push({
      label: `${prefix}deployment`,
      data: m.timeline.map((step) => step.live_bytes),
      borderColor: COLORS[side],
      backgroundColor: COLORS[side],
      pointRadius: m.timeline.map((_, i) => (i === peakAt ? 6 : 0)),
      stepped: true,
    });
    datasets.push({
      label: `${prefix}PyTorch eager`,
      data: m.timeline.map((step) => step.eager_bytes),
      borderColor: COLORS[side],
      borderDash: [4, 3],
      pointRadius: 0,
      stepped: true,
    });
    items.push({ label: `${prefix}deployment (live bytes)`, color: COLORS[side], kind: "line" },
      { label: `${prefix}PyTorch eager`, color: COLORS[side], kind: "dashed" },
      { label: `${prefix}peak`, color: COLORS[side], kind: "dot" });
    if (m.budget_bytes != null) {
      datasets.push({ label: `${prefix}budget`, data: m.timeline.map(() => m.budget_bytes), borderColor: BUDGET_COLOR, pointRadius: 0 });
      items.push({ label: `${prefix}budget ${short(m.budget_bytes)}B`, color: BUDGET_COLOR, kind: "line" });
    }
  }
  const { box, canvas } = chartFrame("memory", title, items);
  box.id = "memory-chart";
  charts.push(new Chart(canvas, {
    type: "line",
    data: { labels, datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${full(c.raw)} B` } } },
      scales: {
        x: { ticks: { ...CATEGORY_TICKS, callback: axisLabel } },
        y: { beginAtZero: true, ticks: { callback: (v) => short(v) } },
      },
    },
  }));
  return box;
}

// A block's colour on the roofline: eight distinct ones, or, for more blocks, hues in the network's order.
function blockColor(i, n) {
  return n <= BLOCK_PALETTE.length ? BLOCK_PALETTE[i] : `hsl(${Math.round((300 * i) / (n - 1))} 75% 42%)`;
}

// Labels on a log axis at the powers of ten only (1, 10, 100…): the steps between are unlabelled gridlines.
const decadeTick = (v) => {
  const p = Math.log10(v);
  return Math.abs(p - Math.round(p)) < 1e-9 ? short(v) : null;
};

// Log-log roofline: each timed layer with FLOPs is a point (intensity, achieved FLOP/s), coloured by its block;
// the device's measured roofs are the lines. Several sides share one chart (circles for A, triangles for B).
function rooflineBox(timed) {
  const [, first] = timed[0];
  const roofs = first.roofs;
  const datasets = [];
  const xs = [];
  const blocks = [];  // every side's blocks in order, one colour each
  const perSide = timed.map(([side, lat]) => {
    const byBlock = new Map();
    for (const layer of lat.per_layer.layers) {
      if (!layer.intensity || !layer.achieved_flops_per_s) continue;  // no FLOPs: not on a log-log roofline
      const name = layer.layers && layer.layers.length ? layer.layers.join(" + ") : layer.name;  // a runtime's fused node
      const block = name.split(".").slice(0, 2).join(".");
      if (!byBlock.has(block)) byBlock.set(block, []);
      if (!blocks.includes(block)) blocks.push(block);
      byBlock.get(block).push({ x: layer.intensity, y: layer.achieved_flops_per_s, name, bound: layer.bound });
      xs.push(layer.intensity);
    }
    return [side, byBlock];
  });
  const color = (block) => blockColor(blocks.indexOf(block), blocks.length);
  for (const [side, byBlock] of perSide) {
    for (const [block, points] of byBlock) {
      datasets.push({
        type: "scatter",
        label: timed.length > 1 ? `${side.toUpperCase()} ${block}` : block,
        data: points,
        pointStyle: side === "b" ? "triangle" : "circle",
        pointRadius: 4,
        backgroundColor: color(block),
      });
    }
  }
  const items = blocks.map((block) => ({ label: block, color: color(block), kind: "dot" }));
  const sidesShown = [...new Set(timed.map(([side]) => side))];
  if (sidesShown.length > 1) items.push({ label: "● A", kind: "text" }, { label: "▲ B", kind: "text" });
  const peak = roofs && roofs.flops_per_s[first.dtype];
  if (peak && roofs.bytes_per_s && xs.length) {
    const lo = Math.min(...xs, peak / roofs.bytes_per_s) / 4;
    const hi = Math.max(...xs, peak / roofs.bytes_per_s) * 4;
    const ridge = peak / roofs.bytes_per_s;
    const memoryRoof = `memory roof ${short(roofs.bytes_per_s)}B/s`;
    const computeRoof = `compute roof ${short(peak)}FLOP/s (${first.dtype})`;
    datasets.push({ type: "line", label: memoryRoof, data: [{ x: lo, y: lo * roofs.bytes_per_s }, { x: ridge, y: peak }], borderColor: ROOF_COLOR, borderWidth: 1.5, pointRadius: 0 });
    datasets.push({ type: "line", label: computeRoof, data: [{ x: ridge, y: peak }, { x: hi, y: peak }], borderColor: ROOF_COLOR, borderDash: [6, 3], borderWidth: 1.5, pointRadius: 0 });
    items.push({ label: memoryRoof, color: ROOF_COLOR, kind: "line" }, { label: computeRoof, color: ROOF_COLOR, kind: "dashed" });
  }
  const { box, canvas } = chartFrame("roofline", `roofline on ${first.device}: achieved FLOP/s against FLOPs per byte (layers with FLOPs, coloured by block; the roofs measured)`, items);
  charts.push(new Chart(canvas, {
    type: "scatter",
    data: { datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (c) => c.raw.name ? `${c.raw.name}: ${short(c.raw.y)}FLOP/s at ${c.raw.x.toFixed(2)} FLOP/B (${c.raw.bound})` : c.dataset.label } },
      },
      scales: {
        x: { type: "logarithmic", title: { display: true, text: "FLOPs per byte" }, ticks: { callback: decadeTick, autoSkip: true, maxRotation: 0 } },
        y: { type: "logarithmic", title: { display: true, text: "FLOP/s" }, ticks: { callback: decadeTick } },
      },
    },
  }));
  return box;
}

// A legend: one entry per colour (a box, a line, a dashed line, a dot, an outline), or a note in words.
function legendOf(key, items) {
  const legend = document.createElement("div");
  legend.className = "legend";
  legend.id = `legend-${key}`;
  legend.append(...items.map((item) => {
    const entry = document.createElement("span");
    entry.className = `legend-item${item.kind === "text" ? " note" : ""}`;
    entry.title = item.label;
    if (item.kind !== "text") {
      const swatch = document.createElement("i");
      swatch.className = `swatch ${item.kind || "box"}`;
      swatch.style.color = item.color;
      if (["box", "dot", "hatched"].includes(item.kind || "box")) swatch.style.backgroundColor = item.color;
      entry.append(swatch);
    }
    entry.append(Object.assign(document.createElement("span"), { textContent: item.label }));
    if (item.muted) entry.classList.add("absent");
    return entry;
  }));
  return legend;
}

// A chart's frame: its box, its title, its legend and the canvas (id chart-<key>) the chart is drawn on.
function chartFrame(key, title, items) {
  const box = document.createElement("div");
  box.className = "chart";
  const h = document.createElement("h3");
  h.textContent = title;
  const holder = document.createElement("div");
  holder.className = "canvas-box";
  const canvas = document.createElement("canvas");
  canvas.id = `chart-${key}`;
  holder.append(canvas);
  box.append(h, legendOf(key, items), holder);
  return { box, canvas };
}

// A category axis: names shortened (shortLabel; the tooltip's title is the full name), skipped where they would
// overlap.
const CATEGORY_TICKS = { autoSkip: true, autoSkipPadding: 6, maxRotation: 60, font: { size: 10 } };
function axisLabel(value) {
  return shortLabel(this.getLabelForValue(value));
}

function chartBox(key, title, labels, datasets, items) {
  const { box, canvas } = chartFrame(key, title, items);
  charts.push(new Chart(canvas, {
    type: "bar",
    data: { labels, datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${full(c.raw)}` } },
      },
      scales: {
        x: { ticks: { ...CATEGORY_TICKS, callback: axisLabel } },
        y: { beginAtZero: true, ticks: { callback: (v) => short(v) } },
      },
    },
  }));
  return box;
}

// ---- sweeps ----------------------------------------------------------------------------------------------

let currentSweep = null;
let shownSweep = null;
let sweepYToLatency = false;  // a predicted sweep's plots show its latency first
let verifyChart = null;

function numberList(text, what) {
  const values = text.split(",").map((x) => x.trim()).filter((x) => x !== "");
  const numbers = values.map(Number);
  if (numbers.some((x) => !Number.isFinite(x))) throw new ApiError(`${what}: give numbers separated by commas`);
  return numbers;
}

function sweepRequest() {
  const grid = {};
  const alphas = numberList($("sweep-alphas").value, "α values");
  const rhos = numberList($("sweep-rhos").value, "ρ values");
  if (alphas.length) grid.width_multiplier = alphas;
  if (rhos.length) grid.resolution = rhos;
  const field = $("sweep-field").value.trim();
  if (field) grid[field] = numberList($("sweep-field-values").value, `${field} values`);
  const body = { base: { preset: $("sweep-preset").value }, grid };
  if ($("sweep-memory").checked) body.memory = memoryOptions() || {};
  if ($("sweep-latency").checked) {
    body.latency = { devices: [$("latency-device").value], budget_s: Number($("budget").value || 10) };
    if ($("predict").checked) {  // at counting speed; verify: the fastest front points measured too (a job)
      Object.assign(body.latency, { predict: true, runtimes: checkedRuntimes() });
      const verify = Number($("sweep-verify").value || 0);
      if (verify > 0) body.latency.verify = verify;
    }
  }
  return body;
}

async function runSweep() {
  $("error").hidden = true;
  $("sweep-run").disabled = true;
  try {
    const request = sweepRequest();
    const sizes = Object.entries(request.grid).map(([field, values]) => `${values.length} ${FIELD_NAMES[field] || field}`);
    const predicting = request.latency && request.latency.predict ? " and predicting latency" : "";
    working($("sweep-status"), `sweeping ${request.base.preset} over ${sizes.join(" × ")}: counting${predicting}…`);
    if (predicting) sweepYToLatency = true;
    const { status, data } = await api("POST", "/sweep", request);
    if (status === 202) await followSweep(data.id);
    else showSweep(data);
    arrived($("sweep-status"), $("sweep-result"), $("sweep-result-title").textContent);
  } catch (e) {
    $("sweep-status").textContent = "Failed: see the message above.";
    showError(e instanceof ApiError ? e.message : `unexpected error: ${e}`);
  } finally {
    $("sweep-run").disabled = false;
  }
  refreshRecent();
}

async function followSweep(id) {
  currentSweep = id;
  $("sweep-cancel").hidden = false;
  $("sweep-progress").hidden = false;
  let scrolled = false;
  try {
    for (;;) {
      const { data } = await api("GET", `/jobs/${id}`);
      $("sweep-progress").max = data.points_to_measure || 1;
      $("sweep-progress").value = data.points_measured;
      working($("sweep-status"),
        `measuring: ${data.points_measured} / ${data.points_to_measure} points · ${data.elapsed_s.toFixed(1)} s · ${data.state}`);
      const partial = data.report || (await api("GET", `/sweeps/${id}`)).data;
      showSweep(partial);
      if (!scrolled) $("sweep-result").scrollIntoView({ block: "start" });  // the counts come first, latency fills in
      scrolled = true;
      if (data.report) {
        if (data.state === "cancelled") throw new ApiError("the sweep was cancelled; the points measured are shown");
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    currentSweep = null;
    $("sweep-cancel").hidden = true;
    $("sweep-progress").hidden = true;
  }
}

const medianOf = (point) => {
  const entry = (point.latency || []).find((e) => e.end_to_end);
  return entry ? entry.end_to_end.median_ms : null;
};

function showSweep(body) {
  shownSweep = body;
  $("sweep-result").hidden = false;
  $("result").hidden = true;  // one answer at a time
  const measured = body.pareto_objectives.includes("latency_ms");
  const predicted = body.latency_method === "predicted";
  $("sweep-result-title").textContent = `${body.name || body.preset || "sweep"}: ${body.fields.map((f) => FIELD_NAMES[f] || f).join(" × ")}`;
  const state = body.state ? ` · ${body.state}, ${body.points_measured} / ${body.points_to_measure} measured` : "";
  $("sweep-result-meta").textContent =
    `${body.points.length} points · ${body.errors} with errors · ${body.pareto.length} on the Pareto front${state}`;
  if (body.id && !body.state) {
    const url = new URL(location.href);
    url.search = `?id=${encodeURIComponent(body.id)}`;
    history.replaceState(null, "", url);
    $("sweep-share").href = url.toString();
    $("sweep-csv").href = `/sweeps/${encodeURIComponent(body.id)}/points.csv`;
  }
  const ySelect = $("sweep-y");
  if (measured && ySelect.options.length === 1) ySelect.append(new Option("latency (ms)", "latency"));
  if (!measured && ySelect.options.length > 1) ySelect.remove(1);
  if (measured) ySelect.options[1].textContent = predicted ? "predicted latency (ms)" : "latency (ms)";
  if (measured && predicted && sweepYToLatency) ySelect.value = "latency";
  sweepYToLatency = false;
  drawScatter(body, ySelect.value);
  drawHeatmaps(body, measured);
  sweepPredictedNote(body);
  drawVerify(body.verify);
}

// A predicted sweep says so, with the predictors used and their held-out accuracy.
function sweepPredictedNote(body) {
  const note = $("sweep-predicted");
  if (body.latency_method !== "predicted") { note.replaceChildren(); return; }
  const lines = (body.predictors || []).map((p) => {
    const line = document.createElement("div");
    line.textContent = ` latency of every point from the predictor for ${predictorText(p)}: held out, ${accuracyText(p.held_out_accuracy)}.`;
    line.prepend(predictedBadge());
    return line;
  });
  if (!lines.length) {
    const line = Object.assign(document.createElement("div"), { textContent: " latency of every point from a predictor, not measured" });
    line.prepend(predictedBadge());
    lines.push(line);
  }
  const extrapolated = body.points.filter((p) => (p.latency || []).some((e) => e.extrapolated)).length;
  note.replaceChildren(...lines, ...(extrapolated ? [extrapolatedWarning(`${extrapolated} of ${body.points.length} points`, [])] : []));
  note.className = "predicted-note";
}

// A predicted sweep's verified points: predicted against measured, a table and a scatter.
function drawVerify(verify) {
  const box = $("verify-box");
  if (verifyChart) { verifyChart.destroy(); verifyChart = null; }
  if (!verify) { box.hidden = true; box.replaceChildren(); return; }
  box.hidden = false;
  const heading = Object.assign(document.createElement("h3"), {
    textContent: `Verified: the fastest predicted Pareto points measured (${verify.points.length} so far` +
      `${verify.within_10pct == null ? "" : `; ${pct(verify.within_10pct)} within ±10%, MAPE ${pct(verify.mape)}`})`,
  });
  const table = document.createElement("table");
  table.className = "latency";
  table.id = "verify-table";
  const heads = ["point", "predicted ms", "measured ms", "error"];
  table.createTHead().insertRow().append(...heads.map((h) => Object.assign(document.createElement("th"), { textContent: h })));
  const tbody = table.createTBody();
  const pointName = (v) => Object.entries(v.values || {}).map(([k, x]) => `${FIELD_NAMES[k] || k} ${JSON.stringify(x)}`).join(", ");
  for (const v of verify.points) {
    const row = tbody.insertRow();
    row.dataset.point = String(v.point);
    const cell = (text, cls) => Object.assign(row.insertCell(), { textContent: text, className: cls || "" });
    cell(pointName(v), "text");
    cell(v.predicted_ms.toFixed(3));
    cell(v.measured_ms == null ? "failed" : v.measured_ms.toFixed(3));
    cell(v.error == null ? "–" : `${v.error >= 0 ? "+" : ""}${(100 * v.error).toFixed(1)}%`);
  }
  const measuredPoints = verify.points.filter((v) => v.measured_ms).map((v) => ({ name: pointName(v), measured: v.measured_ms, predicted: v.predicted_ms }));
  const parts = [heading, table];
  if (measuredPoints.length) {
    const { box: chartBoxEl, canvas } = chartFrame("verify", "predicted against measured latency of the verified points (ms, log axes)", predictionItems(measuredPoints, "verified point"));
    parts.push(chartBoxEl);
    box.replaceChildren(...parts);
    verifyChart = predictionChart(canvas, measuredPoints, "verified point");
  } else {
    box.replaceChildren(...parts);
  }
}

function drawScatter(body, yKey) {
  const front = new Set(body.pareto);
  const value = (p) => (yKey === "latency" ? medianOf(p) : p.totals.macs);
  const points = body.points.map((p, i) => ({ p, i })).filter(({ p }) => p.totals && value(p) !== null);
  const asXY = ({ p, i }) => ({ x: p.totals.params, y: value(p), i });
  const predicted = body.latency_method === "predicted";
  const yTitle = yKey !== "latency" ? "MACs" : predicted ? "predicted latency (ms)" : "latency, median (ms)";
  const shaded = body.points.some((p) => p.memory && p.memory.fits === false);
  $("scatter-title").textContent = `${yTitle} against parameters (log axes)`;
  $("legend-sweep").replaceWith(legendOf("sweep", [
    { label: "design", color: POINT_COLOR, kind: "dot" },
    { label: "on the Pareto front", color: FRONT_COLOR, kind: "dot" },
    ...(shaded ? [{ label: "over the memory budget", color: OVER_BUDGET_COLOR, kind: "dot" }] : []),
  ]));
  const old = charts.findIndex((c) => c.canvas.id === "chart-sweep");
  if (old >= 0) charts.splice(old, 1)[0].destroy();
  charts.push(new Chart($("chart-sweep"), {
    type: "scatter",
    data: {
      datasets: [
        { label: "point", data: points.filter(({ i }) => !front.has(i)).map(asXY),
          backgroundColor: points.filter(({ i }) => !front.has(i)).map(({ p }) => (p.memory && p.memory.fits === false ? OVER_BUDGET_COLOR : POINT_COLOR)) },
        { label: "Pareto front", data: points.filter(({ i }) => front.has(i)).map(asXY), backgroundColor: FRONT_COLOR,
          pointRadius: 5 },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (c) => {
              const p = body.points[c.raw.i];
              const values = Object.entries(p.values).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
              const latency = medianOf(p);
              const memory = p.memory ? `, peak ${short(p.memory.peak_activation_bytes)}B${p.memory.fits === false ? " (does not fit)" : ""}` : "";
              return `${values}: ${short(p.totals.macs)} MACs, ${short(p.totals.params)} params` +
                (latency === null ? "" : `, ${latency.toFixed(3)} ms${predicted ? " predicted" : ""}`) + memory;
            },
          },
        },
      },
      scales: {
        x: { type: "logarithmic", title: { display: true, text: "parameters" }, ticks: { callback: (v) => short(v), maxRotation: 0, autoSkipPadding: 12 } },
        y: { type: "logarithmic", title: { display: true, text: yTitle }, ticks: { callback: (v) => short(v) } },
      },
    },
  }));
}

function drawHeatmaps(body, measured) {
  const boxes = [];
  if (body.fields.includes("width_multiplier") && body.fields.includes("resolution")) {
    boxes.push(heatmap(body, "MACs", (p) => p.totals && p.totals.macs, short));
    if (body.points.some((p) => p.memory)) {
      boxes.push(heatmap(body, "peak activation memory (bytes)", (p) => p.memory && p.memory.peak_activation_bytes, short));
    }
    const title = body.latency_method === "predicted" ? "predicted latency (ms)" : "latency (ms)";
    if (measured) boxes.push(heatmap(body, title, medianOf, (v) => v.toFixed(2)));
  }
  $("heatmaps").replaceChildren(...boxes);
}

function heatmap(body, title, valueOf, format) {
  // α down, ρ across; the colour scales with the value on a log scale, the Pareto points outlined.
  const key = (v) => JSON.stringify(v);
  const alphas = [...new Set(body.points.map((p) => key(p.values.width_multiplier)))];
  const rhos = [...new Set(body.points.map((p) => key(p.values.resolution)))];
  const front = new Set(body.pareto);
  const cells = new Map(body.points.map((p, i) => [`${key(p.values.width_multiplier)}|${key(p.values.resolution)}`, [p, i]]));
  const values = body.points.map((p) => valueOf(p)).filter((v) => v);
  const [lo, hi] = [Math.log(Math.min(...values)), Math.log(Math.max(...values))];
  const table = document.createElement("table");
  table.className = "heatmap";
  table.createCaption().textContent = `${title}: α (rows) × ρ (columns)`;
  const head = table.insertRow();
  head.append(Object.assign(document.createElement("th"), { textContent: "α \\ ρ" }),
    ...rhos.map((r) => Object.assign(document.createElement("th"), { textContent: JSON.parse(r) })));
  for (const a of alphas) {
    const row = table.insertRow();
    row.append(Object.assign(document.createElement("th"), { textContent: JSON.parse(a) }));
    for (const r of rhos) {
      const td = row.insertCell();
      const [p, i] = cells.get(`${a}|${r}`) || [null, -1];
      const v = p && valueOf(p);
      if (!v) { td.textContent = p && p.error ? "error" : "–"; continue; }
      const t = hi > lo ? (Math.log(v) - lo) / (hi - lo) : 0;
      td.textContent = format(v);
      td.style.background = heatColor(t);
      td.title = `α ${JSON.parse(a)}, ρ ${JSON.parse(r)}: ${full(v)}`;
      if (front.has(i)) td.className = "pareto";
      if (p.memory && p.memory.fits === false) {
        td.classList.add("over-budget");  // shaded: this design does not fit the device's memory
        td.title += " (over the memory budget)";
      }
    }
  }
  const box = document.createElement("div");
  box.className = "heatmap-box";
  const shaded = body.points.some((p) => p.memory && p.memory.fits === false);
  const scale = { label: `${format(Math.exp(lo))} → ${format(Math.exp(hi))} (log scale)`, kind: "scale" };
  const legend = legendOf(`heatmap-${title.split(" ")[0].toLowerCase()}`, [
    scale,
    { label: "on the Pareto front", color: FRONT_COLOR, kind: "outline" },
    ...(shaded ? [{ label: "over the memory budget", color: "#9ca3af", kind: "hatched" }] : []),
  ]);
  legend.querySelector(".swatch.scale").style.background =
    `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1].map(heatColor).join(", ")})`;
  box.append(table, legend);
  return box;
}

// A heatmap cell's colour for its place t in [0, 1] between the smallest and the largest value (log scale).
const heatColor = (t) => `hsl(${220 - 200 * t} 80% ${85 - 25 * t}%)`;

// ---- predictors ------------------------------------------------------------------------------------------

let predictorChart = null;
let selectedPredictor = null;
let calibrating = null;

// Predicted against measured: within ±10% or not, by colour; the exact line; the ±10% band.
const isWithin = (pt) => Math.abs(pt.predicted - pt.measured) <= 0.1 * pt.measured;
function predictionItems(points, what) {
  const outside = points.filter((pt) => !isWithin(pt)).length;
  return [
    { label: `${what} within ±10%`, color: WITHIN_COLOR, kind: "dot", muted: outside === points.length },
    { label: `${what} off by more than 10%`, color: OUTSIDE_COLOR, kind: "dot", muted: !outside },
    { label: "y = x (predicted = measured)", color: EXACT_COLOR, kind: "line" },
    { label: "±10% band", color: BAND_COLOR, kind: "box" },
  ];
}

// Labels on a log axis at 1, 2 and 5 times a power of ten.
const msTick = (v) => {
  const m = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
  return [1, 2, 5].some((k) => Math.abs(m - k) < 1e-6) ? (v >= 1 ? short(v) : String(Number(v.toPrecision(2)))) : null;
};

function predictionChart(canvas, points, what) {
  const values = points.flatMap((pt) => [pt.measured, pt.predicted]);
  const lo = Math.min(...values) / 1.3;
  const hi = Math.max(...values) * 1.3;
  const line = (k) => [{ x: lo, y: lo * k }, { x: hi, y: hi * k }];
  const asXY = (pt) => ({ x: pt.measured, y: pt.predicted, name: pt.name });
  const scale = (text) => ({ type: "logarithmic", min: lo, max: hi, title: { display: true, text }, ticks: { callback: msTick, autoSkip: true, maxRotation: 0 } });
  return new Chart(canvas, {
    type: "scatter",
    data: {
      datasets: [
        { type: "line", label: "+10%", data: line(1.1), borderWidth: 0, pointRadius: 0, backgroundColor: BAND_COLOR, fill: "+1", role: "band" },
        { type: "line", label: "-10%", data: line(0.9), borderWidth: 0, pointRadius: 0, fill: false, role: "band" },
        { type: "line", label: "y = x", data: line(1), borderColor: EXACT_COLOR, borderWidth: 1.5, pointRadius: 0, role: "exact" },
        { label: `${what} within ±10%`, data: points.filter(isWithin).map(asXY), backgroundColor: WITHIN_COLOR, pointRadius: 4, role: "points" },
        { label: `${what} off by more than 10%`, data: points.filter((pt) => !isWithin(pt)).map(asXY), backgroundColor: OUTSIDE_COLOR, pointRadius: 4, role: "points" },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          filter: (item) => item.dataset.role === "points",
          callbacks: {
            title: (items) => (items.length ? items[0].raw.name : ""),
            label: (c) => `measured ${c.raw.x.toFixed(3)} ms, predicted ${c.raw.y.toFixed(3)} ms (${c.raw.y >= c.raw.x ? "+" : ""}${(100 * (c.raw.y - c.raw.x) / c.raw.x).toFixed(1)}%)`,
          },
        },
      },
      scales: { x: scale("measured latency (ms)"), y: scale("predicted latency (ms)") },
    },
  });
}

function calibrateBody(device = "cpu", runtime = "eager") {
  return `{"device": ${JSON.stringify(device)}, "runtime": ${JSON.stringify(runtime)}, "budget_s": 900}`;
}

async function refreshPredictors(select) {
  let data;
  try {
    ({ data } = await api("GET", "/predictors"));
  } catch (e) {
    $("predictors-empty").hidden = false;
    $("predictors-empty").textContent = e instanceof ApiError ? e.message : String(e);
    return;
  }
  const list = data.predictors || [];
  const empty = $("predictors-empty");
  empty.hidden = list.length > 0;
  if (!list.length) {
    empty.replaceChildren("No predictor yet: predicted latency needs one per device and runtime. Calibrate one ",
      "(about 15 minutes, a job) with ", Object.assign(document.createElement("code"), { textContent: `POST /predictors ${calibrateBody()}` }),
      ", or with the form below.");
  }
  const samples = (data.samples || []).map((k) => `${k.runtime} on ${k.device}: ${k.designs} designs`);
  $("predictor-samples").textContent = samples.length ? `Samples stored (measured designs the next fit learns from): ${samples.join("; ")}` : "";
  if (!list.length) {
    $("predictors-box").replaceChildren();
    $("predictor-chart").hidden = true;
    if (predictorChart) { predictorChart.destroy(); predictorChart = null; }
    selectedPredictor = null;
    return;
  }
  const table = document.createElement("table");
  table.className = "latency";
  table.id = "predictors-table";
  const heads = ["", "runtime", "device", "dtype", "threads", "fitted", "designs", "within ±10%", "within ±5%", "MAPE", "Spearman", "MACs baseline: ±10% · MAPE · Spearman"];
  table.createTHead().insertRow().append(...heads.map((h) => Object.assign(document.createElement("th"), { textContent: h })));
  const body = table.createTBody();
  for (const p of list) {
    const row = body.insertRow();
    row.dataset.id = p.id;
    const radio = Object.assign(document.createElement("input"), { type: "radio", name: "predictor", value: p.id });
    radio.setAttribute("aria-label", `show ${p.runtime} on ${p.device}`);
    radio.addEventListener("change", () => selectPredictor(p.id));
    row.insertCell().append(radio);
    const acc = p.held_out_accuracy || {};
    const macs = (acc.baselines || {}).macs || {};
    const cell = (text, cls, key) => {
      const td = Object.assign(row.insertCell(), { textContent: text, className: cls || "" });
      if (key) td.dataset.key = key;
      return td;
    };
    cell(p.runtime, "text", "runtime");
    cell(p.device_name ? `${p.device} (${p.device_name})` : p.device, "text", "device");
    cell(p.dtype, "text", "dtype");
    cell(p.threads == null ? "default" : String(p.threads), "", "threads");
    cell(when(p.fitted_at), "text", "fitted_at");
    cell(`${p.designs} fitted + ${acc.designs ?? "?"} held out`, "", "designs");
    cell(pct(acc.within_10pct), "", "within_10pct");
    cell(pct(acc.within_5pct), "", "within_5pct");
    cell(pct(acc.mape), "", "mape");
    cell(acc.spearman == null ? "–" : acc.spearman.toFixed(3), "", "spearman");
    cell(`${pct(macs.within_10pct)} · ${pct(macs.mape)} · ${macs.spearman == null ? "–" : macs.spearman.toFixed(3)}`, "muted-cell", "macs_baseline");
    row.addEventListener("click", (event) => {
      if (event.target !== radio) { radio.checked = true; selectPredictor(p.id); }
    });
  }
  $("predictors-box").replaceChildren(table);
  const want = select || (list.some((p) => p.id === selectedPredictor) ? selectedPredictor : list[0].id);
  await selectPredictor(want).catch((e) => { $("predictor-samples").textContent = e instanceof ApiError ? e.message : String(e); });
}

async function selectPredictor(id) {
  selectedPredictor = id;
  for (const row of document.querySelectorAll("#predictors-table tbody tr")) {
    row.classList.toggle("selected", row.dataset.id === id);
    row.querySelector('input[type="radio"]').checked = row.dataset.id === id;
  }
  const { data: p } = await api("GET", `/predictors/${encodeURIComponent(id)}`);
  if (selectedPredictor !== id) return;  // another was chosen meanwhile
  const points = (p.held_out || []).map((h) => ({ name: h.design, measured: h.measured_ms, predicted: h.predicted_ms }));
  if (predictorChart) { predictorChart.destroy(); predictorChart = null; }
  $("predictor-chart").hidden = !points.length;
  if (!points.length) return;
  $("predictor-title").textContent = `${p.runtime} on ${p.device}${p.device_name ? ` (${p.device_name})` : ""}: predicted against ` +
    `measured latency of ${points.length} held-out designs (ms, log axes; interval ${p.interval ? p.interval.split(":")[0] : "–"})`;
  $("legend-predictor").replaceWith(legendOf("predictor", predictionItems(points, "held-out design")));
  predictorChart = predictionChart($("chart-predictor"), points, "held-out design");
  $("predictor-chart").dataset.id = id;
}

async function calibrate() {
  const body = { device: $("calibrate-device").value || "cpu", runtime: $("calibrate-runtime").value, budget_s: Number($("calibrate-budget").value || 900) };
  const progress = $("calibrate-progress");
  progress.hidden = false;
  $("calibrate-run").disabled = true;
  try {
    const { data: job } = await api("POST", "/predictors", body);
    calibrating = job.id;
    $("calibrate-cancel").hidden = false;
    for (;;) {
      const { data } = await api("GET", `/jobs/${job.id}`);
      const bar = document.createElement("progress");
      bar.max = data.budget_s || 1;
      bar.value = Math.min(data.elapsed_s, data.budget_s || data.elapsed_s);
      const failed = data.designs_failed ? ` (${data.designs_failed} failed)` : "";
      const line = `${data.designs_measured} designs measured${failed} · ${data.elapsed_s.toFixed(1)} s of ${data.budget_s} s · ${data.state}`;
      progress.dataset.state = data.state;
      if (["done", "failed", "cancelled"].includes(data.state)) {
        const ends = {
          done: () => `Calibrated: ${data.designs_measured} designs measured; held out, ${accuracyText(data.predictor && data.predictor.held_out_accuracy)}.`,
          failed: () => `Calibration failed: ${data.error || "no predictor fitted"}`,
          cancelled: () => `Calibration stopped after ${data.designs_measured} designs; what it measured is kept as samples.`,
        };
        progress.replaceChildren(ends[data.state]());
        if (data.state === "done") await refreshPredictors(data.predictor && data.predictor.id);
        return;
      }
      progress.replaceChildren(bar, ` ${line}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } catch (e) {
    progress.dataset.state = "failed";
    progress.replaceChildren(`Calibration failed: ${e instanceof ApiError ? e.message : e}`);
  } finally {
    calibrating = null;
    $("calibrate-cancel").hidden = true;
    $("calibrate-run").disabled = false;
  }
}

// ---- stored results --------------------------------------------------------------------------------------

const PAGE = 12;
let recentOffset = 0;

function recentQuery() {
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(recentOffset) });
  const filters = { name: $("recent-filter").value.trim(), kind: $("recent-kind").value, since: $("recent-since").value, until: $("recent-until").value };
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  return params;
}

const fig = (text) => Object.assign(document.createElement("span"), { textContent: text });

// What an entry shows of a profile: α, ρ, batch, MACs, parameters, latency when measured.
function profileFigures(summary, prefix = "") {
  const out = [];
  if (summary.width_multiplier !== undefined) {
    out.push(fig(`${prefix}α ${summary.width_multiplier}`), fig(`ρ ${[].concat(summary.resolution).join("×")}`), fig(`batch ${summary.batch_size}`));
  }
  if (summary.totals) out.push(fig(`${short(summary.totals.macs)} MACs`), fig(`${short(summary.totals.params)} params`));
  for (const [device, ms] of Object.entries(summary.latency_ms || {})) {
    out.push(fig(ms === null ? `${device}: failed` : `${device} ${ms.toFixed(2)} ms`));
  }
  return out;
}

function entryFigures(item) {
  if (item.kind === "compare" && item.a && item.b) {
    const ratio = item.ratios && item.ratios.macs;
    return [...profileFigures(item.a, "A "), ...profileFigures(item.b, "B "), ...(ratio ? [fig(`B/A MACs ${ratio.toFixed(3)}×`)] : [])];
  }
  if (item.kind === "sweep") {
    const out = [fig(`${item.points} points`), fig((item.fields || []).join(" × "))];
    if (item.latency && item.latency.fastest_ms) out.push(fig(`fastest ${item.latency.fastest_ms.toFixed(2)} ms`));
    return out;
  }
  return profileFigures(item);
}

// A stored result's name, from the list's summary: its design (name or preset, α, ρ), never its id.
function entryName(item) {
  if (item.kind === "compare" && item.a && item.b) return `${designName(item.a)} vs ${designName(item.b)}`;
  if (item.kind === "sweep") return `${item.name || item.preset || "custom spec"}: ${(item.fields || []).map((f) => FIELD_NAMES[f] || f).join(" × ")}`;
  return designName(item);
}

// A design with neither a name nor a preset is named by its spec's first rows, which the list does not carry:
// fetched once per result (results do not change) and put in place when they come.
const specNames = new Map();
async function nameFromSpec(item, link) {
  const sides = item.kind === "compare" ? [item.a, item.b] : item.kind === "profile" ? [item] : [];
  if (!sides.some((d) => d && !d.name && !d.preset)) return;
  try {
    if (!specNames.has(item.id)) {
      specNames.set(item.id, api("GET", `/profiles/${encodeURIComponent(item.id)}`).then(({ data }) =>
        (item.kind === "compare" ? `${designName(data.a)} vs ${designName(data.b)}` : designName(data))));
    }
    link.textContent = await specNames.get(item.id);
    link.title = `${link.textContent} (stored as ${item.id})`;
  } catch {
    specNames.delete(item.id);  // keep the summary's name; try again on the next refresh
  }
}

async function refreshRecent() {
  try {
    const { data } = await api("GET", `/profiles?${recentQuery()}`);
    if (data.total && recentOffset >= data.total) {  // the filter shrank the list under this page
      recentOffset = Math.max(0, Math.floor((data.total - 1) / PAGE) * PAGE);
      return refreshRecent();
    }
    $("recent-list").replaceChildren(...data.items.map((item) => {
      const li = document.createElement("li");
      li.dataset.id = item.id;
      li.dataset.kind = item.kind;
      const a = document.createElement("a");
      a.href = `/?id=${encodeURIComponent(item.id)}`;
      a.textContent = entryName(item);
      a.title = `${a.textContent} (stored as ${item.id})`;
      nameFromSpec(item, a);
      a.addEventListener("click", (event) => {  // open here, keeping the list's page and filters
        if (event.ctrlKey || event.metaKey || event.shiftKey) return;
        event.preventDefault();
        history.pushState(null, "", a.href);
        openStored(item.id);
      });
      const kind = Object.assign(document.createElement("span"), { className: "kind", textContent: item.kind });
      const head = Object.assign(document.createElement("div"), { className: "entry-head" });
      head.append(a, kind);
      const created = Object.assign(document.createElement("span"), { className: "muted", textContent: when(item.created) });
      const figures = document.createElement("div");
      figures.className = "figures";
      figures.append(...entryFigures(item));
      li.append(head, created, figures);
      return li;
    }));
    const last = Math.min(recentOffset + data.items.length, data.total);
    $("recent-range").textContent = data.total ? `${recentOffset + 1}–${last} of ${data.total}` : "none";
    $("recent-newer").disabled = recentOffset === 0;
    $("recent-older").disabled = last >= data.total;
  } catch (e) {
    $("recent-range").textContent = e instanceof ApiError ? e.message : "";
  }
}

function pageRecent(step) {
  recentOffset = Math.max(0, recentOffset + step * PAGE);
  refreshRecent();
}

// A stored result back in the form, ready to edit and run again.
function loadIntoForm(result) {
  const fill = (side, report) => {
    $(`preset-${side}`).value = "";
    $(`width-${side}`).value = "";
    $(`resolution-${side}`).value = "";
    $(`spec-${side}`).value = JSON.stringify(report.spec, null, 1);
  };
  const isCompare = "a" in result && "b" in result;
  if (isCompare) {
    fill("a", result.a);
    fill("b", result.b);
    $("batch-a").value = result.a.batch_size;
  } else {
    fill("a", result);
    $("batch-a").value = result.batch_size;
  }
  $("compare-mode").checked = isCompare;
  $("compare-mode").dispatchEvent(new Event("change"));
  const timed = isCompare ? [...(result.timed || []).flatMap((r) => r.latency || []), ...(result.latency || [])] : result.latency || [];
  const measured = timed.find((lat) => lat.end_to_end || lat.b_over_a != null);
  $("latency-on").checked = Boolean(measured);
  $("predict").checked = Boolean(measured && measured.method === "predicted");
  $("predict").dispatchEvent(new Event("change"));
  if (measured) {
    if ([...$("latency-device").options].some((o) => o.value === measured.device)) $("latency-device").value = measured.device;
    $("per-layer").checked = Boolean(measured.per_layer);
    if (measured.budget_s) $("budget").value = measured.budget_s;
  }
}

function loadSweepIntoForm(body) {
  if (body.preset) $("sweep-preset").value = body.preset;
  const values = (field) => [...new Set(body.points.map((p) => p.values[field]).filter((v) => v !== undefined))].join(", ");
  $("sweep-alphas").value = body.fields.includes("width_multiplier") ? values("width_multiplier") : "";
  $("sweep-rhos").value = body.fields.includes("resolution") ? values("resolution") : "";
  const other = body.fields.find((f) => f !== "width_multiplier" && f !== "resolution");
  $("sweep-field").value = other || "";
  $("sweep-field-values").value = other ? values(other) : "";
  $("sweep-latency").checked = body.pareto_objectives.includes("latency_ms");
  if (body.latency_method === "predicted") {
    $("predict").checked = true;
    $("predict").dispatchEvent(new Event("change"));
  }
}

async function openStored(id) {
  $("error").hidden = true;
  try {
    const { data } = await api("GET", `/profiles/${encodeURIComponent(id)}`);
    if (data.kind === "sweep") {
      sweepYToLatency = data.latency_method === "predicted";
      loadSweepIntoForm(data);
      showSweep(data);
      $("sweep-result").scrollIntoView({ block: "start" });
      return;
    }
    const timedIds = (new URLSearchParams(location.search).get("latency") || "").split(",").filter(Boolean);
    if ("a" in data && timedIds.length === 2) {
      data.timed = (await Promise.all(timedIds.map((t) => api("GET", `/profiles/${encodeURIComponent(t)}`)))).map((r) => r.data);
    }
    loadIntoForm(data);
    show(data);
    $("result").scrollIntoView({ block: "start" });
  } catch (e) {
    showError(e.message);
  }
}

// ---- start -----------------------------------------------------------------------------------------------

async function start() {
  try {
    const [{ data: presets }, { data: devices }] = await Promise.all([api("GET", "/presets"), api("GET", "/devices")]);
    for (const side of ["a", "b"]) {
      for (const p of presets) {
        const option = new Option(p.name, p.name);
        option.title = p.citation;
        $(`preset-${side}`).append(option);
      }
      $(`preset-${side}`).addEventListener("change", () => fillPreset(side).catch((e) => showError(e.message)));
    }
    for (const p of presets) $("sweep-preset").append(new Option(p.name, p.name));
    $("sweep-preset").value = "mobilenet_v2";
    $("latency-device").append(...devices.map((d) => new Option(`${d.device} (${d.name})`, d.device)));
    $("calibrate-device").append(...devices.map((d) => new Option(`${d.device} (${d.name})`, d.device)));
  } catch (e) {
    showError(e.message);
  }
  $("run").addEventListener("click", run);
  $("cancel").addEventListener("click", () => cancel().catch((e) => showError(e.message)));
  $("compare-mode").addEventListener("change", () => {
    $("form-b").hidden = !$("compare-mode").checked;
    $("run").textContent = $("compare-mode").checked ? "Compare" : "Profile";
  });
  for (const form of [$("form-a"), $("form-b")]) {  // Enter in a field runs, as a form's submit would
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target.tagName === "INPUT") {
        event.preventDefault();
        run();
      }
    });
  }
  $("all-layers").addEventListener("change", () => shown && show(shown));
  $("sweep-run").addEventListener("click", runSweep);
  $("predict").addEventListener("change", () => {  // predicting is a kind of latency: the box follows
    const on = $("predict").checked;
    if (on) $("latency-on").checked = true;
    $("sweep-latency-how").textContent = on ? "predicted (at counting speed, from the predictor; predict above)"
      : "measured (device and budget above; a job)";
    $("sweep-verify-box").hidden = !on;
  });
  $("calibrate-run").addEventListener("click", calibrate);
  $("calibrate-cancel").addEventListener("click", () => calibrating && api("DELETE", `/jobs/${calibrating}`).catch((e) => showError(e.message)));
  $("sweep-cancel").addEventListener("click", () => currentSweep && api("DELETE", `/sweeps/${currentSweep}`).catch((e) => showError(e.message)));
  $("sweep-y").addEventListener("change", () => shownSweep && drawScatter(shownSweep, $("sweep-y").value));
  for (const id of ["recent-filter", "recent-kind", "recent-since", "recent-until"]) {
    $(id).addEventListener(id === "recent-filter" ? "input" : "change", () => { recentOffset = 0; refreshRecent(); });
  }
  $("recent-newer").addEventListener("click", () => pageRecent(-1));
  $("recent-older").addEventListener("click", () => pageRecent(1));
  window.addEventListener("popstate", () => {
    const back = new URLSearchParams(location.search).get("id");
    if (back) openStored(back);
  });
  $("token").value = localStorage.getItem("profiler-token") || "";
  $("token").addEventListener("change", () => {  // start again with the token: presets, devices, the list
    localStorage.setItem("profiler-token", $("token").value);
    location.reload();
  });
  const id = new URLSearchParams(location.search).get("id");
  if (id) await openStored(id);
  refreshRecent();
  await refreshPredictors();
  document.body.dataset.ready = "true";
}

start();
