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
let currentJob = null;
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
  if (!$("latency-on").checked || $("compare-mode").checked) return null;
  return {
    devices: [$("latency-device").value],
    per_layer: $("per-layer").checked,
    budget_s: Number($("budget").value || 10),
    job: true,
  };
}

async function run() {
  $("error").hidden = true;
  setBusy(true, "profiling…");
  try {
    const batch = Number($("batch-a").value || 1);
    if ($("compare-mode").checked) {
      const { data } = await api("POST", "/compare", { a: specOf("a"), b: specOf("b"), batch_size: batch });
      show(data);
    } else {
      const body = { ...specOf("a"), batch_size: batch };
      const latency = latencyOptions();
      if (latency) body.latency = latency;
      const { status, data } = await api("POST", "/profile", body);
      if (status === 202) await follow(data.id);
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

async function follow(jobId) {
  currentJob = jobId;
  $("cancel").hidden = false;
  $("progress").hidden = false;
  try {
    for (;;) {
      const { data } = await api("GET", `/jobs/${jobId}`);
      $("progress").replaceChildren(...data.devices.map((d) => {
        const line = document.createElement("div");
        const bar = document.createElement("progress");
        bar.max = d.steps_total || 1;
        bar.value = d.steps_done;
        line.append(`${d.device}: `, bar, ` ${d.steps_done} / ${d.steps_total || "?"} steps · ${d.elapsed_s.toFixed(1)} s · ${d.state}`);
        return line;
      }));
      setBusy(true, `measuring latency (${data.state})…`);
      if (data.report) {
        if (data.state === "cancelled") throw new ApiError("the measurement was cancelled");
        show(data.report);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  } finally {
    currentJob = null;
    $("cancel").hidden = true;
    $("progress").hidden = true;
  }
}

async function cancel() {
  if (currentJob) await api("DELETE", `/jobs/${currentJob}`);
}

// ---- results ---------------------------------------------------------------------------------------------

function show(result) {
  shown = result;
  $("result").hidden = false;
  const isCompare = "a" in result && "b" in result;
  const title = isCompare ? `${label(result.a)} vs ${label(result.b)}` : label(result);
  $("result-title").textContent = title;
  $("result-meta").textContent = `id ${result.id} · ${result.created}${result.cached ? " · answered from the store" : ""}`;
  const url = new URL(location.href);
  url.search = `?id=${encodeURIComponent(result.id)}`;
  history.replaceState(null, "", url);
  $("share").href = url.toString();
  $("csv").href = `/profiles/${encodeURIComponent(result.id)}/layers.csv`;
  if (isCompare) {
    totalsTable([["a", "A", result.a], ["b", "B", result.b]], result.ratios);
    drawCharts([["a", result.a], ["b", result.b]]);
    $("latency-summary").textContent = "";
  } else {
    totalsTable([["a", "value", result]], null);
    drawCharts([["a", result]]);
    latencySummary(result);
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

function latencySummary(report) {
  const parts = (report.latency || []).map((lat) => {
    const line = document.createElement("div");
    if (!lat.end_to_end) {
      line.textContent = `${lat.device}: ${lat.error}`;
      return line;
    }
    const e = lat.end_to_end;
    let text = `${lat.device} (${lat.device_name}): median ${e.median_ms.toFixed(3)} ms, 95% CI ` +
      `[${e.ci95_ms[0].toFixed(3)}, ${e.ci95_ms[1].toFixed(3)}], CV ${(100 * e.cv).toFixed(1)}%, ` +
      `${e.repeats} repeats (${e.stop}); ${lat.method}`;
    if (lat.per_layer) {
      text += `. Per layer (${lat.per_layer.method}): sum ${lat.per_layer.sum_of_medians_ms.toFixed(3)} ms = ` +
        `${lat.per_layer.sum_over_end_to_end.toFixed(2)} × end-to-end`;
    }
    line.textContent = text;
    if (lat.quality && lat.quality.verdict === "noisy") {
      const warning = document.createElement("div");
      warning.className = "warning";
      warning.dataset.device = lat.device;
      warning.textContent = `⚠ noisy measurement on ${lat.device}, do not trust it: ${lat.quality.reasons.join("; ")}`;
      line.append(warning);
    }
    return line;
  });
  $("latency-summary").replaceChildren(...parts);
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

function drawCharts(sides) {
  while (charts.length) charts.pop().destroy();
  const everyLayer = $("all-layers").checked;
  const byName = sides.map(([, report]) => new Map(report.layers.map((l) => [l.name, l])));
  const names = layerOrder(sides).filter((name) => everyLayer || byName.some((m) => (m.get(name)?.macs ?? 0) > 0));
  const boxes = CHARTED.map(([key, title]) => chartBox(key, `${title} per layer`, names, sides.map(([side], i) => ({
    label: sides.length > 1 ? side.toUpperCase() : title,
    data: names.map((n) => byName[i].get(n)?.[key] ?? null),
    backgroundColor: COLORS[side],
  }))));
  const timed = sides.flatMap(([side, report]) => (report.latency || []).filter((l) => l.per_layer).map((l) => [side, l]));
  if (timed.length) {
    const which = everyLayer ? "every layer" : "conv/linear layers";
    const how = timed[0][1].per_layer.method === "isolated" ? "each timed alone" : "in context";
    boxes.push(chartBox("latency", `latency per layer (median ms, ${how}; ${which}; colour: compute-, memory- or overhead-bound)`, names, timed.map(([side, lat]) => {
      const byLayer = new Map(lat.per_layer.layers.map((x) => [x.name, x]));
      return {
        label: sides.length > 1 ? `${side.toUpperCase()} ${lat.device}` : lat.device,
        data: names.map((n) => byLayer.get(n)?.median_ms ?? null),
        backgroundColor: names.map((n) => BOUND_COLORS[byLayer.get(n)?.bound] || "#d1d5db"),
      };
    })));
    boxes.push(rooflineBox(timed));
  }
  $("charts").replaceChildren(...boxes);
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
      const block = layer.name.split(".").slice(0, 2).join(".");
      if (!byBlock.has(block)) byBlock.set(block, []);
      byBlock.get(block).push({ x: layer.intensity, y: layer.achieved_flops_per_s, name: layer.name, bound: layer.bound });
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
  const box = document.createElement("div");
  box.className = "chart";
  const h = document.createElement("h3");
  h.textContent = `roofline on ${first.device}: achieved FLOP/s against FLOPs per byte (layers with FLOPs; the roofs measured)`;
  const holder = document.createElement("div");
  holder.className = "canvas-box";
  const canvas = document.createElement("canvas");
  canvas.id = "chart-roofline";
  holder.append(canvas);
  box.append(h, holder);
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

function chartBox(key, title, labels, datasets) {
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
  $("scatter-title").textContent = `${yTitle} against parameters (log axes; Pareto front in black)`;
  const old = charts.findIndex((c) => c.canvas.id === "chart-sweep");
  if (old >= 0) charts.splice(old, 1)[0].destroy();
  charts.push(new Chart($("chart-sweep"), {
    type: "scatter",
    data: {
      datasets: [
        { label: "point", data: points.filter(({ i }) => !front.has(i)).map(asXY), backgroundColor: "#93c5fd" },
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
              return `${values}: ${short(p.totals.macs)} MACs, ${short(p.totals.params)} params` +
                (latency === null ? "" : `, ${latency.toFixed(3)} ms`);
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
    }
  }
  return table;
}

// ---- stored results --------------------------------------------------------------------------------------

async function refreshRecent() {
  const params = new URLSearchParams({ limit: "15" });
  const filter = $("recent-filter").value.trim();
  if (filter) params.set("name", filter);
  try {
    const { data } = await api("GET", `/profiles?${params}`);
    $("recent-list").replaceChildren(...data.items.map((item) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = `/?id=${encodeURIComponent(item.id)}`;
      a.textContent = item.name || item.id;
      const meta = document.createElement("span");
      meta.className = "muted";
      const macs = item.totals ? ` · ${short(item.totals.macs)} MACs` : item.points ? ` · ${item.points} points` : "";
      meta.textContent = `${item.kind} · ${item.created.replace("T", " ").slice(0, 19)}${macs}`;
      li.append(a, meta);
      return li;
    }));
  } catch { /* the list is a convenience; errors show on actions */ }
}

async function openStored(id) {
  try {
    const { data } = await api("GET", `/profiles/${encodeURIComponent(id)}`);
    if (data.kind === "sweep") showSweep(data);
    else show(data);
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
    $("latency-on").disabled = $("compare-mode").checked;  // POST /compare counts; it does not time
  });
  $("all-layers").addEventListener("change", () => shown && show(shown));
  $("sweep-run").addEventListener("click", runSweep);
  $("sweep-cancel").addEventListener("click", () => currentSweep && api("DELETE", `/sweeps/${currentSweep}`).catch((e) => showError(e.message)));
  $("sweep-y").addEventListener("change", () => shownSweep && drawScatter(shownSweep, $("sweep-y").value));
  $("recent-filter").addEventListener("input", refreshRecent);
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
