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
const BLOCK_PALETTE = ["#2563eb", "#ea580c", "#059669", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777"];
const charts = [];
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
  $("status").textContent = text;
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

function latencyOptions() {
  if (!$("latency-on").checked) return null;
  const runtimes = [...document.querySelectorAll('input[name="runtime"]:checked')].map((box) => box.value);
  return {
    devices: [$("latency-device").value],
    runtimes: runtimes.length ? runtimes : ["eager"],
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

async function run() {
  $("error").hidden = true;
  setBusy(true, "profiling…");
  try {
    const batch = Number($("batch-a").value || 1);
    const latency = latencyOptions();
    if ($("compare-mode").checked) {
      const a = specOf("a");
      const b = specOf("b");
      // With latency, /compare times A against B in alternating chunks: B / A with its interval per runtime.
      const body = { a, b, batch_size: batch, ...(latency ? { latency: { ...latency, per_layer: false } } : {}) };
      const { status, data: answer } = await api("POST", "/compare", body);
      const data = status === 202 ? (await follow([[answer.id, "A vs B"]]))[0] : answer;
      if (latency && latency.per_layer) {  // per-layer bars: each side measured as its own profile job
        const jobs = await Promise.all([a, b].map((spec) => api("POST", "/profile", { ...spec, batch_size: batch, latency })));
        const [timedA, timedB] = await follow(jobs.map(({ data: job }, i) => [job.id, i ? "B" : "A"]));
        data.timed = [timedA, timedB];
      }
      show(data);
    } else {
      const body = { ...specOf("a"), batch_size: batch };
      if (latency) body.latency = latency;
      if (memoryOptions()) body.memory = memoryOptions();
      const { status, data } = await api("POST", "/profile", body);
      if (status === 202) show((await follow([[data.id, ""]]))[0]);
      else show(data);
    }
    setBusy(false, "");
  } catch (e) {
    setBusy(false, "");
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
  const isCompare = "a" in result && "b" in result;
  const title = isCompare ? `${label(result.a)} vs ${label(result.b)}` : label(result);
  $("result-title").textContent = title;
  const how = isCompare && result.alignment ? ` · layers aligned ${result.alignment.how}` : "";
  $("result-meta").textContent = `id ${result.id} · ${result.created}${result.cached ? " · answered from the store" : ""}${how}`;
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
  const s = report.spec;
  return `${report.name || report.preset || "spec"} (α ${s.width_multiplier}, ρ ${[].concat(s.resolution).join("×")}, batch ${report.batch_size})`;
}

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

// /compare's paired latency: per device and runtime, B's median over A's with its 95% interval and verdict.
function pairedSummary(entries) {
  if (!entries.length) return;
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
  const boxes = CHARTED.map(([key, title]) => chartBox(key, `${title} per layer`, names, sides.map(([side], i) => ({
    label: sides.length > 1 ? side.toUpperCase() : title,
    data: slots.map((slot) => byName[i].get(slot.names[i])?.[key] ?? null),
    backgroundColor: COLORS[side],
  }))));
  const timed = sides.flatMap(([side, report]) => (report.latency || []).filter((l) => l.per_layer).map((l) => [side, l]));
  if (timed.length) {
    const which = everyLayer ? "every layer" : "conv/linear layers";
    const how = timed[0][1].per_layer.method === "isolated" ? "each timed alone" : "in context";
    boxes.push(chartBox("latency", `latency per layer (median ms, ${how}; ${which}; colour: compute-, memory- or overhead-bound)`, names, timed.map(([side, lat]) => {
      // A runtime's row (a fused node) stands at the first spec layer it covers.
      const byLayer = new Map(lat.per_layer.layers.map((x) => [x.layers && x.layers.length ? x.layers[0] : x.name, x]));
      const at = side === "b" ? 1 : 0;
      const where = runtimeName(lat) === "eager" ? lat.device : `${lat.device} ${runtimeName(lat)}`;
      return {
        label: sides.length > 1 ? `${side.toUpperCase()} ${where}` : where,
        data: slots.map((slot) => byLayer.get(slot.names[at])?.median_ms ?? null),
        backgroundColor: slots.map((slot) => BOUND_COLORS[byLayer.get(slot.names[at])?.bound] || "#d1d5db"),
        borderColor: COLORS[side],
        borderWidth: sides.length > 1 ? 1 : 0,
      };
    })));
    boxes.push(rooflineBox(timed));
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
  const { box, canvas } = chartFrame("memory", title);
  box.id = "memory-chart";
  const longest = sides.reduce((a, b) => (b[1].memory.timeline.length > a[1].memory.timeline.length ? b : a));
  const labels = longest[1].memory.timeline.map((step, i) => `${i} ${step.name}`);
  const datasets = [];
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
    if (m.budget_bytes != null) {
      datasets.push({ label: `${prefix}budget`, data: m.timeline.map(() => m.budget_bytes), borderColor: "#b91c1c", pointRadius: 0 });
    }
  }
  charts.push(new Chart(canvas, {
    type: "line",
    data: { labels, datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${full(c.raw)} B` } } },
      scales: {
        x: { ticks: { autoSkip: true, maxRotation: 60, font: { size: 9 } } },
        y: { beginAtZero: true, ticks: { callback: (v) => short(v) } },
      },
    },
  }));
  return box;
}

// Log-log roofline: each timed layer with FLOPs is a point (intensity, achieved FLOP/s), coloured by its block;
// the device's measured roofs are the lines. Several sides share one chart (circles for A, triangles for B).
function rooflineBox(timed) {
  const [, first] = timed[0];
  const roofs = first.roofs;
  const datasets = [];
  const xs = [];
  for (const [side, lat] of timed) {
    const byBlock = new Map();
    for (const layer of lat.per_layer.layers) {
      if (!layer.intensity || !layer.achieved_flops_per_s) continue;  // no FLOPs: not on a log-log roofline
      const name = layer.layers && layer.layers.length ? layer.layers.join(" + ") : layer.name;  // a runtime's fused node
      const block = name.split(".").slice(0, 2).join(".");
      if (!byBlock.has(block)) byBlock.set(block, []);
      byBlock.get(block).push({ x: layer.intensity, y: layer.achieved_flops_per_s, name, bound: layer.bound });
      xs.push(layer.intensity);
    }
    [...byBlock.entries()].forEach(([block, points], i) => datasets.push({
      type: "scatter",
      label: timed.length > 1 ? `${side.toUpperCase()} ${block}` : block,
      data: points,
      pointStyle: side === "b" ? "triangle" : "circle",
      pointRadius: 4,
      backgroundColor: BLOCK_PALETTE[i % BLOCK_PALETTE.length],
    }));
  }
  const peak = roofs && roofs.flops_per_s[first.dtype];
  if (peak && roofs.bytes_per_s && xs.length) {
    const lo = Math.min(...xs, peak / roofs.bytes_per_s) / 4;
    const hi = Math.max(...xs, peak / roofs.bytes_per_s) * 4;
    const ridge = peak / roofs.bytes_per_s;
    datasets.push({ type: "line", label: `memory roof ${short(roofs.bytes_per_s)}B/s`, data: [{ x: lo, y: lo * roofs.bytes_per_s }, { x: ridge, y: peak }], borderColor: "#111827", borderWidth: 1.5, pointRadius: 0 });
    datasets.push({ type: "line", label: `compute roof ${short(peak)}FLOP/s (${first.dtype})`, data: [{ x: ridge, y: peak }, { x: hi, y: peak }], borderColor: "#111827", borderDash: [6, 3], borderWidth: 1.5, pointRadius: 0 });
  }
  const { box, canvas } = chartFrame("roofline", `roofline on ${first.device}: achieved FLOP/s against FLOPs per byte (layers with FLOPs; the roofs measured)`);
  charts.push(new Chart(canvas, {
    type: "scatter",
    data: { datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: datasets.length <= 12, labels: { boxWidth: 10, font: { size: 9 } } },
        tooltip: { callbacks: { label: (c) => c.raw.name ? `${c.raw.name}: ${short(c.raw.y)}FLOP/s at ${c.raw.x.toFixed(2)} FLOP/B (${c.raw.bound})` : c.dataset.label } },
      },
      scales: {
        x: { type: "logarithmic", title: { display: true, text: "FLOPs per byte" }, ticks: { callback: (v) => short(v) } },
        y: { type: "logarithmic", title: { display: true, text: "FLOP/s" }, ticks: { callback: (v) => short(v) } },
      },
    },
  }));
  return box;
}

// A chart's frame: its box, its title and the canvas (id chart-<key>) the chart is drawn on.
function chartFrame(key, title) {
  const box = document.createElement("div");
  box.className = "chart";
  const h = document.createElement("h3");
  h.textContent = title;
  const holder = document.createElement("div");
  holder.className = "canvas-box";
  const canvas = document.createElement("canvas");
  canvas.id = `chart-${key}`;
  holder.append(canvas);
  box.append(h, holder);
  return { box, canvas };
}

function chartBox(key, title, labels, datasets) {
  const { box, canvas } = chartFrame(key, title);
  charts.push(new Chart(canvas, {
    type: "bar",
    data: { labels, datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: datasets.length > 1 },
        tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${full(c.raw)}` } },
      },
      scales: {
        x: { ticks: { autoSkip: true, maxRotation: 60, font: { size: 9 } } },
        y: { beginAtZero: true, ticks: { callback: (v) => short(v) } },
      },
    },
  }));
  return box;
}

// ---- sweeps ----------------------------------------------------------------------------------------------

let currentSweep = null;
let shownSweep = null;

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
  }
  return body;
}

async function runSweep() {
  $("error").hidden = true;
  $("sweep-run").disabled = true;
  $("sweep-status").textContent = "counting…";
  try {
    const { status, data } = await api("POST", "/sweep", sweepRequest());
    if (status === 202) await followSweep(data.id);
    else showSweep(data);
    $("sweep-status").textContent = "";
  } catch (e) {
    $("sweep-status").textContent = "";
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
  try {
    for (;;) {
      const { data } = await api("GET", `/jobs/${id}`);
      $("sweep-progress").max = data.points_to_measure || 1;
      $("sweep-progress").value = data.points_measured;
      $("sweep-status").textContent =
        `measuring: ${data.points_measured} / ${data.points_to_measure} points · ${data.elapsed_s.toFixed(1)} s · ${data.state}`;
      const partial = data.report || (await api("GET", `/sweeps/${id}`)).data;
      showSweep(partial);
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
  const measured = body.pareto_objectives.includes("latency_ms");
  $("sweep-result-title").textContent = `${body.name || body.preset || "sweep"}: ${body.fields.join(" × ")}`;
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
  drawScatter(body, ySelect.value);
  drawHeatmaps(body, measured);
}

function drawScatter(body, yKey) {
  const front = new Set(body.pareto);
  const value = (p) => (yKey === "latency" ? medianOf(p) : p.totals.macs);
  const points = body.points.map((p, i) => ({ p, i })).filter(({ p }) => p.totals && value(p) !== null);
  const asXY = ({ p, i }) => ({ x: p.totals.params, y: value(p), i });
  const yTitle = yKey === "latency" ? "latency, median (ms)" : "MACs";
  const shaded = body.points.some((p) => p.memory && p.memory.fits === false) ? "; pale: over the memory budget" : "";
  $("scatter-title").textContent = `${yTitle} against parameters (log axes; Pareto front in black${shaded})`;
  const old = charts.findIndex((c) => c.canvas.id === "chart-sweep");
  if (old >= 0) charts.splice(old, 1)[0].destroy();
  charts.push(new Chart($("chart-sweep"), {
    type: "scatter",
    data: {
      datasets: [
        { label: "point", data: points.filter(({ i }) => !front.has(i)).map(asXY),
          backgroundColor: points.filter(({ i }) => !front.has(i)).map(({ p }) => (p.memory && p.memory.fits === false ? "#e5e7eb" : "#93c5fd")) },
        { label: "Pareto front", data: points.filter(({ i }) => front.has(i)).map(asXY), backgroundColor: "#111827",
          pointRadius: 5 },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: {
        tooltip: {
          callbacks: {
            label: (c) => {
              const p = body.points[c.raw.i];
              const values = Object.entries(p.values).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
              const latency = medianOf(p);
              const memory = p.memory ? `, peak ${short(p.memory.peak_activation_bytes)}B${p.memory.fits === false ? " (does not fit)" : ""}` : "";
              return `${values}: ${short(p.totals.macs)} MACs, ${short(p.totals.params)} params` +
                (latency === null ? "" : `, ${latency.toFixed(3)} ms`) + memory;
            },
          },
        },
      },
      scales: {
        x: { type: "logarithmic", title: { display: true, text: "parameters" }, ticks: { callback: (v) => short(v) } },
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
    if (measured) boxes.push(heatmap(body, "latency (ms)", medianOf, (v) => v.toFixed(2)));
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
      td.style.background = `hsl(${220 - 200 * t} 80% ${85 - 25 * t}%)`;
      td.title = `α ${JSON.parse(a)}, ρ ${JSON.parse(r)}: ${full(v)}`;
      if (front.has(i)) td.className = "pareto";
      if (p.memory && p.memory.fits === false) {
        td.classList.add("over-budget");  // shaded: this design does not fit the device's memory
        td.title += " (over the memory budget)";
      }
    }
  }
  return table;
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
      a.textContent = item.name || item.id;
      a.addEventListener("click", (event) => {  // open here, keeping the list's page and filters
        if (event.ctrlKey || event.metaKey || event.shiftKey) return;
        event.preventDefault();
        history.pushState(null, "", a.href);
        openStored(item.id);
      });
      const kind = Object.assign(document.createElement("span"), { className: "kind", textContent: item.kind });
      const when = Object.assign(document.createElement("span"), { className: "muted", textContent: item.created.replace("T", " ").slice(0, 19) + " UTC" });
      const figures = document.createElement("div");
      figures.className = "figures";
      figures.append(...entryFigures(item));
      li.append(a, kind, when, figures);
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
    $(`spec-${side}`).closest("details").open = true;
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
}

async function openStored(id) {
  $("error").hidden = true;
  try {
    const { data } = await api("GET", `/profiles/${encodeURIComponent(id)}`);
    if (data.kind === "sweep") {
      loadSweepIntoForm(data);
      showSweep(data);
      $("sweep-result").scrollIntoView();
      return;
    }
    const timedIds = (new URLSearchParams(location.search).get("latency") || "").split(",").filter(Boolean);
    if ("a" in data && timedIds.length === 2) {
      data.timed = (await Promise.all(timedIds.map((t) => api("GET", `/profiles/${encodeURIComponent(t)}`)))).map((r) => r.data);
    }
    loadIntoForm(data);
    show(data);
    $("result").scrollIntoView();
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
  document.body.dataset.ready = "true";
}

start();
