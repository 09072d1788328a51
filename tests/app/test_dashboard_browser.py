"""The dashboard in a real headless Chromium (Debian's package) driven by Playwright, against a real server.

Screenshots go to ``$TEST_ARTIFACTS`` (default ``test-artifacts/``). Locally the test skips without Chromium;
under CI (``CI=true``) a missing browser is a failure, not a skip.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2

from tests.live_server import live_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))

if CHROMIUM is None and os.environ.get("CI") != "true":
    pytest.skip("Chromium not installed (apt-get install chromium); CI installs it", allow_module_level=True)

# Flags for a closed network and a root user (see the machine notes): no sandbox, no background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LIVENESS_MS = 180_000  # waits on the page's states; the ceiling only catches a hang


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(tmp_path_factory.mktemp("store") / "store.sqlite3") as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    assert CHROMIUM is not None, "CI needs Debian's chromium: apt-get install chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, server: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=server)
    context.set_default_timeout(LIVENESS_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: errors.append(f"{req.url}: {req.failure}"))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status == 404 or r.status >= 500 else None)
    page.goto("/")
    page.wait_for_selector("body[data-ready=true]")
    yield page
    context.close()
    assert errors == [], errors  # no script error, no missing asset, no server error


def _total(page, figure: str, side: str = "a") -> int:
    return int(page.get_attribute(f'#totals tr[data-figure="{figure}"] td[data-side="{side}"]', "data-value"))


def _choose_preset(page, side: str, name: str) -> None:
    page.select_option(f"#preset-{side}", name)
    page.wait_for_function(f"document.getElementById('spec-{side}').value.includes('{name}')")


def _painted_pixels(page, canvas_id: str) -> int:
    return page.evaluate(
        """(id) => { const c = document.getElementById(id);
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""",
        canvas_id,
    )


def _chart_data(page, canvas_id: str) -> dict:
    return page.evaluate(
        "(id) => { const c = Chart.getChart(id); return {labels: c.data.labels, "
        "datasets: c.data.datasets.map(d => ({label: d.label, data: d.data}))}; }",
        canvas_id,
    )


def test_profile_a_preset_then_compare_two(page, server: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _choose_preset(page, "a", "mobilenet_v2")
    page.click("#run")
    page.wait_for_selector('#totals tr[data-figure="macs"] td[data-side="a"]')

    # Totals against torchvision's published figures for MobileNetV2 (1.0, 224).
    meta = MobileNet_V2_Weights.IMAGENET1K_V1.meta
    assert _total(page, "params") == meta["num_params"]
    assert round(_total(page, "macs") / 1e9, 3) == meta["_ops"]
    assert _total(page, "flops") == 2 * _total(page, "macs")

    # The chart is drawn, and it is the report's conv/linear layers, in order.
    result_id = page.url.split("id=")[1]
    report = httpx.get(f"{server}/profiles/{result_id}").json()
    weighted = [layer for layer in report["layers"] if layer["macs"] > 0]
    macs_chart = _chart_data(page, "chart-macs")
    assert macs_chart["labels"] == [layer["name"] for layer in weighted]
    assert macs_chart["datasets"][0]["data"] == [layer["macs"] for layer in weighted]
    assert _painted_pixels(page, "chart-macs") > 5000 and _painted_pixels(page, "chart-params") > 5000
    page.screenshot(path=ARTIFACTS / "dashboard-profile.png", full_page=True)

    # The shareable URL opens the same stored result in a fresh page.
    other = page.context.new_page()
    other.goto(page.url)
    other.wait_for_selector('#totals tr[data-figure="macs"] td[data-side="a"]')
    assert _total(other, "macs") == _total(page, "macs")
    other.close()

    # Compare: width 1.0 against 0.5; B's parameters are torchvision's mobilenet_v2(width_mult=0.5).
    page.check("#compare-mode")
    _choose_preset(page, "b", "mobilenet_v2")
    page.fill("#width-b", "0.5")
    page.click("#run")
    page.wait_for_selector('#totals td[data-side="ratio"]')
    half = sum(p.numel() for p in mobilenet_v2(width_mult=0.5).parameters())
    assert _total(page, "params", "b") == half
    assert _total(page, "params", "a") == meta["num_params"]
    ratio = page.text_content('#totals tr[data-figure="params"] td[data-side="ratio"]')
    assert ratio == f"{half / meta['num_params']:.3f}×"
    chart = _chart_data(page, "chart-params")
    assert [d["label"] for d in chart["datasets"]] == ["A", "B"]
    assert _painted_pixels(page, "chart-params") > 5000
    page.screenshot(path=ARTIFACTS / "dashboard-compare.png", full_page=True)

    # Both runs are in the stored list, newest first.
    page.wait_for_function("document.querySelectorAll('#recent-list li').length >= 2")
    newest = page.text_content("#recent-list li:first-child a")
    assert newest == "mobilenet_v2 α 1 ρ 224 vs mobilenet_v2 α 0.5 ρ 224", newest


def test_latency_job_shows_progress_then_the_per_layer_chart(page) -> None:
    _choose_preset(page, "a", "mobilenet_v3_small")
    page.fill("#resolution-a", "64")
    page.check("#latency-on")
    page.check("#per-layer")
    page.fill("#budget", "3")
    page.click("#run")
    page.wait_for_selector("#progress progress")  # the job's progress, while it runs
    page.wait_for_selector("#chart-latency")
    assert "median" in page.text_content("#latency-summary")
    chart = _chart_data(page, "chart-latency")
    assert chart["datasets"][0]["label"] == "cpu" and all(v > 0 for v in chart["datasets"][0]["data"])
    assert _painted_pixels(page, "chart-latency") > 2000
    # The roofline: the measured roofs as two lines, each layer with FLOPs a point, coloured by its block.
    roofline = _chart_data(page, "chart-roofline")
    labels = [d["label"] for d in roofline["datasets"]]
    assert any(label.startswith("memory roof") for label in labels)
    assert any(label.startswith("compute roof") for label in labels)
    assert "features.0" in labels and _painted_pixels(page, "chart-roofline") > 2000

    # Legends right above their charts: the bars' colours are what bounds each layer, each colour named; the
    # roofline's dots one colour per block, each named, and its two roofs.
    bound_colours = {
        "compute-bound": "#2563eb",
        "memory-bound": "#ea580c",
        "overhead-bound": "#9ca3af",
        "no verdict": "#d1d5db",
    }
    bars = dict(_legend(page, "latency"))
    assert bars == {label: _rgb(colour) for label, colour in bound_colours.items()}, bars
    used = page.evaluate("new Set(Chart.getChart('chart-latency').data.datasets[0].backgroundColor).size")
    drawn = page.evaluate("[...new Set(Chart.getChart('chart-latency').data.datasets[0].backgroundColor)]")
    assert used >= 1 and {_rgb(c) for c in drawn} <= set(bars.values())
    dots = page.evaluate(
        "Chart.getChart('chart-roofline').data.datasets.filter(d => d.type === 'scatter')"
        ".map(d => [d.label, d.backgroundColor])"
    )
    legend = _legend(page, "roofline")
    assert [(label, colour) for label, colour in legend[: len(dots)]] == [
        (label, _css_rgb(page, c)) for label, c in dots
    ]
    assert len({colour for _, colour in legend[: len(dots)]}) == len(dots)  # no two blocks share a colour
    assert [label.split(" ")[0:2] for label, _ in legend[len(dots) :]] == [["memory", "roof"], ["compute", "roof"]]
    # The roofline's axes: labels at the powers of ten, none over another.
    for axis in ("x", "y"):
        ticks = _tick_labels(page, "chart-roofline", axis)
        assert len(ticks) >= 2 and _overlapping(ticks) == [], (axis, [t["label"] for t in ticks])
    assert _overlapping(_tick_labels(page, "chart-latency")) == []
    page.screenshot(path=ARTIFACTS / "dashboard-latency.png", full_page=True)


def test_runtimes_chosen_on_the_page_each_get_a_row_and_a_per_layer_series(page) -> None:
    _choose_preset(page, "a", "mobilenet_v3_small")
    page.fill("#resolution-a", "64")
    page.check("#latency-on")
    page.check('input[name="runtime"][value="onnxruntime"]')
    page.check("#per-layer")
    page.fill("#budget", "4")  # 2 s overran the timing watchdog once, with a parallel suite on both cores
    page.click("#run")
    page.wait_for_selector('#latency-table tr[data-runtime="onnxruntime"]')
    rows = page.eval_on_selector_all("#latency-table tbody tr", "rows => rows.map(r => r.dataset.runtime)")
    assert rows == ["eager", "onnxruntime"]
    assert "onnxruntime 1." in page.text_content('#latency-table tr[data-runtime="onnxruntime"]')
    chart = _chart_data(page, "chart-latency")
    assert [d["label"] for d in chart["datasets"]] == ["cpu", "cpu onnxruntime"]
    fused = chart["datasets"][1]["data"]
    assert fused[0] > 0  # the first conv's fused node, at the first conv's slot
    page.screenshot(path=ARTIFACTS / "dashboard-runtimes.png", full_page=True)


def test_a_bad_spec_shows_the_servers_detail(page) -> None:
    page.fill("#spec-a", '{"stages": [{"block": "conv", "c": 0}]}')
    page.click("#run")
    page.wait_for_selector("#error:not([hidden])")
    assert page.text_content("#error") == "stages.0.c: Input should be greater than or equal to 1"
    page.fill("#spec-a", "{not json")
    page.click("#run")
    page.wait_for_function("document.getElementById('error').textContent.includes('not valid JSON')")


def test_with_a_token_the_page_asks_for_it_and_then_works(browser, tmp_path: Path) -> None:
    with live_server(tmp_path / "store.sqlite3", PROFILER_API_TOKEN="s3cret") as base:
        page = browser.new_page(base_url=base)
        page.set_default_timeout(LIVENESS_MS)
        page.goto("/")  # the page and its assets are open; the API is not
        page.wait_for_selector("#token-box:not([hidden])")
        assert "API token" in page.text_content("#error")
        page.fill("#token", "s3cret")
        page.dispatch_event("#token", "change")
        page.wait_for_selector("body[data-ready=true]")
        _choose_preset(page, "a", "mobilenet_v1")
        page.click("#run")
        page.wait_for_selector('#totals tr[data-figure="macs"] td[data-side="a"]')
        assert round(_total(page, "macs") / 1e6) == 569  # the paper's Table 1: 569M mult-adds
        page.close()


def test_memory_over_the_forward_with_its_peak_and_a_sweep_shaded_by_a_budget(page, server: str) -> None:
    """MCUNet's MobileNetV2 in int8 with depthwise convs in place: the memory chart peaks at 1,404,928 B at the
    layer MCUNet names; a sweep over resolution with a 256 KiB budget shades the designs that miss it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _choose_preset(page, "a", "mobilenet_v2")
    page.select_option("#memory-dtype", "int8")
    page.check("#memory-inplace-dw")
    page.fill("#memory-budget", "262144")
    page.click("#run")
    page.wait_for_selector("#chart-memory")
    memory = _chart_data(page, "chart-memory")
    deployment = memory["datasets"][0]
    assert deployment["label"] == "deployment" and max(deployment["data"]) == 1_404_928
    peak_at = deployment["data"].index(1_404_928)
    assert memory["labels"][peak_at].endswith("features.2.conv_pw")
    assert [d["label"] for d in memory["datasets"]] == ["deployment", "PyTorch eager", "budget"]
    title = page.text_content("#memory-chart h3")
    assert "at features.2.conv_pw" in title and "over the" in title and "budget" in title, title
    assert _painted_pixels(page, "chart-memory") > 2000
    legend = _legend(page, "memory")
    assert [label for label, _ in legend] == ["deployment (live bytes)", "PyTorch eager", "peak", "budget 262.1 kB"]
    assert [colour for _, colour in legend] == [_rgb("#2563eb")] * 3 + [_rgb("#b91c1c")]
    assert _overlapping(_tick_labels(page, "chart-memory")) == []
    page.screenshot(path=ARTIFACTS / "dashboard-memory.png", full_page=True)

    page.select_option("#sweep-preset", "mobilenet_v2")
    page.fill("#sweep-alphas", "0.35, 1.0")
    page.fill("#sweep-rhos", "96, 224")
    page.check("#sweep-memory")
    page.click("#sweep-run")
    page.wait_for_selector("table.heatmap td.over-budget")
    sweep_id = page.url.split("id=")[1]
    stored = httpx.get(f"{server}/sweeps/{sweep_id}").json()
    misses = [p for p in stored["points"] if not p["memory"]["fits"]]
    assert misses and len(misses) < len(stored["points"])
    shaded = page.eval_on_selector_all(
        "table.heatmap", "ts => ts.map(t => t.querySelectorAll('td.over-budget').length)"
    )
    assert shaded == [len(misses), len(misses)]  # the MACs and the memory heatmaps
    # Each heatmap's legend under it: the colour scale, the front's outline, the budget's hatching.
    for box in page.query_selector_all(".heatmap-box"):
        table, legend = box.query_selector("table").bounding_box(), box.query_selector(".legend").bounding_box()
        assert 0 <= legend["y"] - (table["y"] + table["height"]) <= 12 and legend["width"] > 0
        assert [e.text_content() for e in box.query_selector_all(".legend-item")][1:] == [
            "on the Pareto front",
            "over the memory budget",
        ]
    assert [label for label, _ in _legend(page, "sweep")] == ["design", "on the Pareto front", "over the memory budget"]
    page.uncheck("#sweep-memory")


def test_sweep_view_scatter_heatmap_and_a_measured_sweep(page, server: str) -> None:
    """MobileNetV1's α × ρ table as a sweep: the heatmap holds the paper's mult-adds (tables 6 and 7), the
    scatter every point with the front marked; then a small latency sweep followed to its end."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.select_option("#sweep-preset", "mobilenet_v1")
    page.fill("#sweep-alphas", "1.0, 0.75, 0.5, 0.25")
    page.fill("#sweep-rhos", "224, 192, 160, 128")
    page.click("#sweep-run")
    page.wait_for_selector("table.heatmap td")
    cells = page.eval_on_selector_all("table.heatmap tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    assert cells[1][:2] == ["1", "568.7 M"] and cells[2][1] == "325.4 M" and cells[4][1] == "41.03 M"
    assert [cells[1][j] for j in range(1, 5)] == ["568.7 M", "418.1 M", "290.7 M", "186.4 M"]
    scatter = _chart_data(page, "chart-sweep")
    assert [d["label"] for d in scatter["datasets"]] == ["point", "Pareto front"]
    assert len(scatter["datasets"][0]["data"]) + len(scatter["datasets"][1]["data"]) == 16
    assert _painted_pixels(page, "chart-sweep") > 2000
    sweep_id = page.url.split("id=")[1]
    stored = httpx.get(f"{server}/sweeps/{sweep_id}").json()
    assert [d["i"] for d in scatter["datasets"][1]["data"]] == stored["pareto"]
    assert page.get_attribute("#sweep-csv", "href") == f"/sweeps/{sweep_id}/points.csv"
    page.screenshot(path=ARTIFACTS / "dashboard-sweep.png", full_page=True)

    page.select_option("#sweep-preset", "mobilenet_v3_small")
    page.fill("#sweep-alphas", "0.5, 1.0")
    page.fill("#sweep-rhos", "64")
    page.check("#sweep-latency")
    page.fill("#budget", "1")
    page.click("#sweep-run")
    page.wait_for_selector("#sweep-progress:not([hidden])")  # the job's progress, while it runs
    page.wait_for_selector("#sweep-progress", state="hidden")
    page.wait_for_function("document.getElementById('sweep-y').options.length === 2")
    page.select_option("#sweep-y", "latency")
    scatter = _chart_data(page, "chart-sweep")
    latencies = [p["y"] for d in scatter["datasets"] for p in d["data"]]
    assert len(latencies) == 2 and all(v > 0 for v in latencies)
    assert len(page.query_selector_all("table.heatmap")) == 2  # MACs and latency
    page.screenshot(path=ARTIFACTS / "dashboard-sweep-latency.png", full_page=True)


@pytest.mark.parametrize(
    ("path", "rendered", "shot"),
    [
        ("/docs", ".swagger-ui .opblock-tag-section >> nth=0", "api-docs-swagger.png"),
        ("/redoc", ".redoc-wrap .api-content h1", "api-docs-redoc.png"),
        ("/", "body[data-ready=true]", None),
    ],
)
def test_pages_load_nothing_from_another_host(browser, server: str, path: str, rendered: str, shot: str | None) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=server)
    context.set_default_timeout(LIVENESS_MS)
    host = httpx.URL(server).host
    elsewhere: list[str] = []

    def only_here(route) -> None:  # an air-gapped host: anything for another host is refused, and recorded
        url = httpx.URL(route.request.url)
        if url.scheme in {"http", "https"} and url.host != host:
            elsewhere.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", only_here)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path)
    page.wait_for_selector(rendered)
    if shot:
        page.screenshot(path=ARTIFACTS / shot)
    context.close()
    assert elsewhere == [] and errors == [], (elsewhere, errors)


def _short(n: float) -> str:
    """The page's short form of a figure (dashboard.js ``short``): 4 significant digits and a unit."""
    for size, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size:
            return f"{float(f'{n / size:.4g}'):g} {unit}"
    return str(n)


def test_stored_results_paged_filtered_and_opened_into_the_form(browser, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with live_server(tmp_path / "store.sqlite3") as base:
        made = [
            httpx.post(
                f"{base}/profile",
                json={"preset": "mobilenet_v1", "name": f"net-{i}", "resolution": 96 + 8 * i, "batch_size": 2},
                timeout=60,
            ).json()
            for i in range(13)
        ]
        httpx.post(f"{base}/compare", json={"a": {"preset": "resnet18"}, "b": {"preset": "resnet34"}}, timeout=60)
        httpx.post(
            f"{base}/sweep", json={"base": {"preset": "mobilenet_v2"}, "grid": {"resolution": [96, 128]}}, timeout=60
        )
        timed = {"preset": "mobilenet_v3_small", "name": "timed", "resolution": 64, "latency": {"budget_s": 1}}
        measured = httpx.post(f"{base}/profile", json=timed, timeout=LIVENESS_MS / 1000).json()

        context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=base)
        context.set_default_timeout(LIVENESS_MS)
        page = context.new_page()
        page.goto("/")
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_function("document.getElementById('recent-range').textContent === '1–12 of 16'")
        assert page.is_disabled("#recent-newer") and not page.is_disabled("#recent-older")
        page.click("#recent-older")
        page.wait_for_function("document.getElementById('recent-range').textContent === '13–16 of 16'")
        assert page.is_disabled("#recent-older")
        assert page.get_attribute("#recent-list li:last-child", "data-id") == made[0]["id"]  # the oldest
        page.click("#recent-newer")
        page.wait_for_function("document.getElementById('recent-range').textContent === '1–12 of 16'")

        # An entry: α, ρ, batch, MACs, parameters and, when measured, latency; each figure on one line.
        entry = f'#recent-list li[data-id="{made[12]["id"]}"] .figures'
        totals = made[12]["totals"]
        figures = page.eval_on_selector_all(f"{entry} span", "spans => spans.map(s => s.textContent)")
        assert figures == [
            "α 1",
            "ρ 192",
            "batch 2",
            f"{_short(totals['macs'])} MACs",
            f"{_short(totals['params'])} params",
        ]
        lines = page.eval_on_selector_all(f"{entry} span", "spans => spans.map(s => s.getClientRects().length)")
        assert set(lines) == {1}
        timed_figures = page.text_content(f'#recent-list li[data-id="{measured["id"]}"] .figures')
        median = measured["latency"][0]["end_to_end"]["median_ms"]
        assert f"cpu {median:.2f} ms" in timed_figures
        page.screenshot(path=ARTIFACTS / "dashboard-stored.png", full_page=True)

        # Filters: kind, name, dates.
        page.select_option("#recent-kind", "sweep")
        page.wait_for_function("document.getElementById('recent-range').textContent === '1–1 of 1'")
        assert page.get_attribute("#recent-list li", "data-kind") == "sweep"
        page.select_option("#recent-kind", "")
        page.fill("#recent-filter", "net-1")
        page.wait_for_function("document.getElementById('recent-range').textContent === '1–4 of 4'")  # 1, 10, 11, 12
        page.fill("#recent-filter", "")
        day = made[0]["created"][:10]
        page.fill("#recent-until", "2000-01-01")
        page.wait_for_function("document.getElementById('recent-range').textContent === 'none'")
        page.fill("#recent-until", day)
        page.fill("#recent-since", day)
        page.wait_for_function("document.getElementById('recent-range').textContent === '1–12 of 16'")

        # Opening one (by keyboard) loads its spec into the form; running it again is the same request.
        page.focus(f'#recent-list li[data-id="{made[6]["id"]}"] a')
        page.keyboard.press("Enter")
        page.wait_for_function(f"location.search.includes('{made[6]['id']}')")
        page.wait_for_selector('#totals tr[data-figure="macs"] td[data-side="a"]')

        assert json.loads(page.input_value("#spec-a")) == made[6]["spec"]
        assert page.input_value("#batch-a") == "2" and page.input_value("#resolution-a") == ""
        page.click("#run")
        page.wait_for_function("document.getElementById('result-meta').textContent.includes('answered from the store')")
        assert _total(page, "macs") == made[6]["totals"]["macs"]

        # A measured one brings its latency options back.
        page.goto(f"/?id={measured['id']}")
        page.wait_for_selector("#latency-table")
        assert page.is_checked("#latency-on") and page.input_value("#budget") == "1"
        context.close()


def test_compare_with_latency_on_both_sides(page) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    one = {"in_channels": 32, "resolution": 64, "classifier": None}
    page.check("#compare-mode")
    page.fill("#spec-a", json.dumps({**one, "name": "normal", "stages": [{"block": "conv", "c": 64, "k": 3}]}))
    page.fill(
        "#spec-b", json.dumps({**one, "name": "separable", "stages": [{"block": "depthwise_separable", "c": 64}]})
    )
    page.check("#latency-on")
    page.check("#per-layer")
    page.fill("#budget", "1")
    for box in page.query_selector_all('input[name="runtime"]'):
        if box.get_attribute("value") in ("eager", "onnxruntime"):
            box.check()
    page.click("#run")
    page.wait_for_selector("#progress progress")  # the paired job, then both sides' per-layer jobs
    page.wait_for_selector('#latency-table tr[data-side="b"]')
    # The paired measurement: B / A per runtime, inside its interval, with a verdict. The separable
    # version has 8.4x fewer MACs; which is faster is the measurement's to say, not this test's.
    paired = page.eval_on_selector_all(
        "#compare-latency-table tbody tr",
        "rows => rows.map(r => [r.dataset.runtime, ...[...r.cells].map(c => c.textContent)])",
    )
    assert [row[0] for row in paired] == ["eager", "onnxruntime"], paired
    for row in paired:
        ratio = float(row[5].rstrip("×"))
        low, high = (float(v) for v in row[6].split(" – "))
        assert low <= ratio <= high and int(row[7]) >= 2, row
        assert row[8] in ("B faster", "A faster", "no difference within the interval"), row
    rows = page.eval_on_selector_all("#latency-table tbody tr", "rows => rows.map(r => r.dataset.side)")
    assert rows == ["a", "a", "b", "b"]
    heads = page.eval_on_selector_all("#latency-table th", "cells => cells.map(c => c.textContent)")
    assert heads[:9] == ["side", "device", "runtime", "median ms", "95% CI ms", "CV", "repeats", "stopped", "verdict"]

    # A's conv and B's depthwise conv share one slot: aligned by role, not drawn at different x positions.
    macs = _chart_data(page, "chart-macs")
    assert macs["labels"][:2] == ["features.0.conv | features.0.conv_dw", "– | features.0.conv_pw"]
    a, b = (d["data"] for d in macs["datasets"])
    assert a[0] == 32 * 64 * 9 * 64 * 64 and b[0] == 32 * 9 * 64 * 64 and a[1] is None and b[1] == 32 * 64 * 64 * 64
    latency = _chart_data(page, "chart-latency")
    assert [d["label"] for d in latency["datasets"]] == ["A cpu", "A cpu onnxruntime", "B cpu", "B cpu onnxruntime"]
    assert latency["datasets"][0]["data"][0] > 0 and latency["datasets"][1]["data"][0] > 0
    page.screenshot(path=ARTIFACTS / "dashboard-compare-latency.png", full_page=True)

    # The shareable link brings the comparison back with both sides' latency.
    assert "latency=" in page.url
    other = page.context.new_page()
    other.goto(page.url)
    other.wait_for_selector('#latency-table tr[data-side="b"]')
    assert other.eval_on_selector_all("#compare-latency-table tbody tr", "rows => rows.length") == 2
    assert other.is_checked("#compare-mode") and other.is_checked("#latency-on")
    other.close()


def test_usable_at_800_px_and_by_keyboard(browser, server: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 800, "height": 900}, base_url=server)
    context.set_default_timeout(LIVENESS_MS)
    page = context.new_page()
    page.goto("/")
    page.wait_for_selector("body[data-ready=true]")
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0  # nothing wider than the window

    def tab_to(element_id: str) -> None:
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == element_id:
                return
        raise AssertionError(f"#{element_id} is not reachable with Tab")

    tab_to("preset-a")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # focus is visible
    page.keyboard.press("ArrowDown")  # the first preset
    page.wait_for_function("document.getElementById('spec-a').value.includes('preset')")
    tab_to("resolution-a")
    page.keyboard.type("96")
    page.keyboard.press("Enter")
    page.wait_for_selector('#totals tr[data-figure="macs"] td[data-side="a"]')
    assert page.evaluate(overflow) <= 0
    tab_to("recent-filter")  # the stored list, after the results, in reading order
    page.screenshot(path=ARTIFACTS / "dashboard-800px.png", full_page=True)
    context.close()


# ---- what a newcomer sees: checked by where things are on the page and how big they are ----------------------

WIDTHS = (1400, 1024, 800)

# Each tick label of a chart's axis as drawn (Chart.js's own label items): its text and the four corners of its
# box on the canvas, from the anchor, alignment, baseline and rotation the chart draws it with.
_TICK_BOXES = """([id, axis]) => {
  const chart = Chart.getChart(id);
  const scale = chart.scales[axis];
  const ctx = chart.ctx;
  return scale.getLabelItems().filter((item) => item.label !== null && item.label !== undefined && item.label !== "")
    .map((item) => {
      const text = [].concat(item.label);
      ctx.save();
      ctx.font = item.font.string;
      const w = Math.max(...text.map((t) => ctx.measureText(String(t)).width));
      ctx.restore();
      const h = item.font.lineHeight * text.length;
      const o = item.options;
      const x0 = o.textAlign === "right" ? -w : o.textAlign === "center" ? -w / 2 : 0;
      const y0 = item.textOffset + (o.textBaseline === "middle" ? -h / 2 : o.textBaseline === "bottom" ? -h : 0);
      const [c, s] = [Math.cos(o.rotation), Math.sin(o.rotation)];
      const corners = [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]].map(([x, y]) =>
        [o.translation[0] + x * c - y * s, o.translation[1] + x * s + y * c]);
      return { label: text.join(" "), corners, rotation: o.rotation };
    });
}"""


def _tick_labels(page, canvas_id: str, axis: str = "x") -> list[dict]:
    return page.evaluate(_TICK_BOXES, [canvas_id, axis])


def _overlapping(labels: list[dict], slack: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of tick labels whose boxes overlap (the separating-axis test: boxes of one rotation are apart when
    their projections on the text's direction or on its normal are apart)."""

    def apart(a: dict, b: dict) -> bool:
        angle = a["rotation"]
        axes = [(math.cos(angle), math.sin(angle)), (-math.sin(angle), math.cos(angle))]
        for ux, uy in axes:
            pa = [x * ux + y * uy for x, y in a["corners"]]
            pb = [x * ux + y * uy for x, y in b["corners"]]
            if max(pa) <= min(pb) + slack or max(pb) <= min(pa) + slack:
                return True
        return False

    return [(a["label"], b["label"]) for i, a in enumerate(labels) for b in labels[i + 1 :] if not apart(a, b)]


def _box(page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not displayed"
    return box


def _in_view(page, selector: str) -> bool:
    """The element is displayed and lies entirely within the window as scrolled now."""
    box = _box(page, selector)
    view = page.viewport_size
    return (
        box["width"] > 0
        and box["height"] > 0
        and box["y"] >= -1
        and box["y"] + box["height"] <= view["height"] + 1
        and box["x"] >= -1
        and box["x"] + box["width"] <= view["width"] + 1
    )


def _inside(inner: dict, outer: dict, slack: float = 1) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


def _legend(page, key: str) -> list[tuple[str, str]]:
    """The legend of the chart on canvas ``chart-<key>``, checked to be shown inside its chart's box right above
    its canvas, as wide as it; its entries as (label, swatch colour)."""
    chart = f".chart:has(#chart-{key})"
    legend, canvas, box = _box(page, f"#legend-{key}"), _box(page, f"#chart-{key}"), _box(page, chart)
    assert legend["width"] > 0 and legend["height"] > 0, key
    assert _inside(legend, box), (key, legend, box)
    assert 0 <= canvas["y"] - (legend["y"] + legend["height"]) <= 12, (key, legend, canvas)  # right above it
    assert legend["x"] >= canvas["x"] - 12 and legend["x"] + legend["width"] <= canvas["x"] + canvas["width"] + 12
    return [
        tuple(entry)
        for entry in page.eval_on_selector_all(
            f"#legend-{key} .legend-item",
            """items => items.map(i => { const s = i.querySelector('.swatch');
                 const st = s && getComputedStyle(s);
                 const clear = 'rgba(0, 0, 0, 0)';
                 const colour = !s ? '' : st.backgroundColor !== clear ? st.backgroundColor
                   : st.borderTopWidth !== '0px' && st.borderTopStyle !== 'none' && st.borderTopColor !== clear
                     ? st.borderTopColor : st.borderBottomColor;
                 return [i.textContent, colour]; })""",
        )
    ]


def _rgb(colour: str) -> str:
    """A chart's colour (#rrggbb or hsl(h s% l%)) as the browser computes it, rgb(r, g, b)."""
    if colour.startswith("#"):
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgb({r}, {g}, {b})"
    return colour


def _css_rgb(page, colour: str) -> str:
    return page.evaluate(
        "(c) => { const e = document.createElement('i'); e.style.color = c; document.body.append(e);"
        " const v = getComputedStyle(e).color; e.remove(); return v; }",
        colour,
    )


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


# Of points every 20 px over a panel, the share farther than 24 px from anything drawn in it (a control's box,
# a line of text): the panel's blank space. What a closed <details> or [hidden] holds is not drawn.
_BLANK = """(selector) => {
  const panel = document.querySelector(selector);
  const r = panel.getBoundingClientRect();
  const shown = (e) => e.checkVisibility({ contentVisibilityAuto: true, visibilityProperty: true });
  const controls = [...panel.querySelectorAll("input, select, textarea, button, progress")].filter(shown)
    .map((e) => e.getBoundingClientRect());
  const texts = [];
  const walker = document.createTreeWalker(panel, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!node.textContent.trim() || !shown(parent) || parent.closest("select, textarea")) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    texts.push(...range.getClientRects());
  }
  const boxes = [...controls, ...texts].filter((b) => b.width && b.height);
  const near = (x, y) => boxes.some((b) => x >= b.left - 24 && x <= b.right + 24
    && y >= b.top - 24 && y <= b.bottom + 24);
  let blank = 0, all = 0;
  for (let y = r.top + 12; y < r.bottom - 12; y += 20) {
    for (let x = r.left + 12; x < r.right - 12; x += 20) { all++; if (!near(x, y)) blank++; }
  }
  return blank / all;
}"""


def test_the_answer_comes_into_view_with_a_status_and_replaces_the_old(page) -> None:
    """Profile: a status line says what runs while it runs; the answer scrolls into view when it comes, the status
    links to it; a sweep's answer then replaces it (no older result left on the page), and the other way round."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _choose_preset(page, "a", "mobilenet_v2")
    page.fill("#width-a", "0.75")
    held: list = []
    page.route("**/profile", lambda route: held.append(route))  # the request waits here while the page runs
    page.click("#run")
    page.wait_for_function("document.getElementById('status').textContent.includes('profiling mobilenet_v2 α 0.75')")
    assert _in_view(page, "#status") and _in_view(page, "#status .spinner")
    assert page.is_disabled("#run")
    while not held:
        page.wait_for_timeout(100)
    held[0].continue_()
    page.unroute("**/profile")

    page.wait_for_selector("#status a.to-answer")
    assert page.is_hidden("#sweep-result")
    title = page.text_content("#result-title")
    assert title == "mobilenet_v2 α 0.75 ρ 224, batch 1", title
    assert page.text_content("#status a") == title and page.get_attribute("#status a", "href") == "#result"
    assert _in_view(page, "#result-title") and _in_view(page, "#totals")
    assert page.evaluate("scrollY") > 0  # it was below the fold: the page scrolled to it
    page.screenshot(path=ARTIFACTS / "answer-in-view-profile.png")

    page.evaluate("scrollTo(0, 0)")  # the status's link brings it back
    page.click("#status a")
    page.wait_for_function("document.getElementById('result').getBoundingClientRect().top < 20")
    assert _in_view(page, "#result-title")

    page.evaluate("scrollTo(0, 0)")
    page.select_option("#sweep-preset", "mobilenet_v2")
    page.fill("#sweep-alphas", "0.5, 1.0")
    page.fill("#sweep-rhos", "96, 128")
    page.click("#sweep-run")
    page.wait_for_selector("#sweep-status a.to-answer")
    assert page.is_hidden("#result")  # replaced, not left below the new answer
    assert _in_view(page, "#sweep-result-title")
    assert page.text_content("#sweep-result-title") == "mobilenet_v2: α × ρ"
    page.screenshot(path=ARTIFACTS / "answer-in-view-sweep.png")

    page.evaluate("scrollTo(0, 0)")
    page.fill("#width-a", "0.5")
    page.click("#run")
    page.wait_for_function("document.getElementById('result-title').textContent.includes('α 0.5')")
    page.wait_for_selector("#status a.to-answer")
    assert page.is_hidden("#sweep-result")
    assert _in_view(page, "#result-title")
    shown = page.eval_on_selector_all("#result, #sweep-result", "s => s.filter(e => e.getClientRects().length).length")
    assert shown == 1
    assert page.eval_on_selector_all("#charts canvas", "cs => cs.length") == 4  # redrawn, not added to


def test_compare_labels_shortened_with_the_full_name_on_hover(page) -> None:
    """A comparison's layers "a | b" on the x axis: short enough to read, none overlapping; hovering a bar shows
    the full names."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    one = {"in_channels": 16, "resolution": 32, "classifier": None}
    a = [{"block": "conv", "c": 32 * (i + 1), "k": 3} for i in range(6)]
    b = [{"block": "depthwise_separable", "c": 32 * (i + 1)} for i in range(6)]
    page.check("#compare-mode")
    page.fill("#spec-a", json.dumps({**one, "stages": a}))
    page.fill("#spec-b", json.dumps({**one, "stages": b}))
    page.click("#run")
    page.wait_for_selector('#totals td[data-side="ratio"]')
    page.wait_for_selector("#status a.to-answer")
    assert _in_view(page, "#result-title")
    full_names = _chart_data(page, "chart-macs")["labels"]
    assert full_names[0] == "features.0.conv | features.0.conv_dw"
    for key in ("macs", "params", "activations"):
        labels = _tick_labels(page, f"chart-{key}")
        assert labels, key
        assert all(len(t["label"]) <= 22 for t in labels), [t["label"] for t in labels]
        assert _overlapping(labels) == [], key
        legend = _legend(page, key)
        assert [label for label, _ in legend] == [
            "A: conv c32 k3, conv c64 k3 (+4 more) α 1 ρ 32",
            "B: depthwise_separable c32 k3, depthwise_separable c64 k3 (+4 more) α 1 ρ 32",
        ]
        assert [colour for _, colour in legend] == [_rgb("#2563eb"), _rgb("#ea580c")]
    assert _tick_labels(page, "chart-macs")[0]["label"] == "f.0: conv | conv_dw"

    page.locator("#chart-macs").scroll_into_view_if_needed()
    x, y = page.evaluate(
        """() => { const c = Chart.getChart('chart-macs'); const bar = c.getDatasetMeta(0).data[0];
             const r = c.canvas.getBoundingClientRect(); return [r.left + bar.x, r.top + (bar.y + bar.base) / 2]; }"""
    )
    page.mouse.move(x, y)
    page.wait_for_function("Chart.getChart('chart-macs').tooltip.opacity > 0")
    assert page.evaluate("Chart.getChart('chart-macs').tooltip.title") == ["features.0.conv | features.0.conv_dw"]
    page.screenshot(path=ARTIFACTS / "compare-labels.png")


def test_no_sideways_scroll_from_800_px_charts_reflow_and_no_blank_panel(browser, server: str) -> None:
    """At 1400, 1024 and 800 px: nothing wider than the window, the stored list's entries (a long name too)
    inside the sidebar, each chart as wide as its box after a resize; the Spec panel is not mostly blank."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    long_name = "a-very-long-design-name-without-any-space-" * 2
    httpx.post(f"{server}/profile", json={"preset": "mobilenet_v1", "name": long_name, "resolution": 96}, timeout=120)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=server)
    context.set_default_timeout(LIVENESS_MS)
    page = context.new_page()
    page.goto("/")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector(f'#recent-list li a[title^="{long_name}"]')
    # Before any answer: the panels hold their controls (the Spec panel was 55% blank at 1400 px, 36% at 800).
    assert page.evaluate(_BLANK, "#inputs") < 0.3
    _choose_preset(page, "a", "mobilenet_v2")
    page.fill("#resolution-a", "160")
    page.click("#run")
    page.wait_for_selector("#status a.to-answer")

    widths = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 1000})
        # Each chart redrawn to its box's width (Chart.js follows its box on resize).
        page.wait_for_function(
            """() => [...document.querySelectorAll('#charts canvas')].every((c) => {
                 const box = c.parentElement.getBoundingClientRect(), r = c.getBoundingClientRect();
                 return r.width > 100 && Math.abs(r.width - box.width) < 2; })"""
        )
        assert _overflow(page) <= 0, width
        boxes = page.eval_on_selector_all(
            "#charts .chart",
            "cs => cs.map(c => [c, c.querySelector('canvas')].map(e => e.getBoundingClientRect().toJSON()))",
        )
        for chart, canvas in boxes:
            assert _inside(canvas, chart), (width, chart, canvas)
            assert chart["x"] + chart["width"] <= width, (width, chart)
        widths.append(boxes[0][1]["width"])
        recent = _box(page, "#recent")
        for entry in page.eval_on_selector_all(
            "#recent-list li a, #recent-list li .kind, #recent-list li .figures span",
            "es => es.flatMap(e => [...e.getClientRects()].map(r => r.toJSON()))",
        ):
            # Across: inside the sidebar (down, the list may scroll within it).
            assert recent["x"] <= entry["x"] and entry["x"] + entry["width"] <= recent["x"] + recent["width"], (
                width,
                entry,
                recent,
            )
        assert page.evaluate(
            "document.getElementById('recent').scrollWidth <= document.getElementById('recent').clientWidth"
        )
        page.evaluate("scrollTo(0, 0)")
        blank = [page.evaluate(_BLANK, panel) for panel in ("#inputs", "#sweep-inputs")]
        assert blank[0] < 0.3 and blank[1] < 0.35, (width, blank)
        page.screenshot(path=ARTIFACTS / f"dashboard-{width}px.png", full_page=True)
    assert widths[0] != widths[1] != widths[2], widths  # the charts followed the window
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.wait_for_function(
        f"Math.abs(document.getElementById('chart-macs').getBoundingClientRect().width - {widths[0]}) < 2"
    )
    context.close()


def test_stored_results_named_by_their_design(page, server: str) -> None:
    """The sidebar names each stored result by its design: preset, α and ρ; a spec with neither name nor preset
    by its first rows; never by its id."""
    made = [
        httpx.post(
            f"{server}/profile",
            json={"preset": "mobilenet_v2", "width_multiplier": 0.35, "resolution": 96},
            timeout=120,
        ),
        httpx.post(
            f"{server}/profile",
            json={
                "in_channels": 8,
                "resolution": 40,
                "classifier": None,
                "stages": [
                    {"block": "conv", "c": 16, "k": 5, "s": 2},
                    {"block": "depthwise_separable", "c": 24},
                    {"block": "conv", "c": 8},
                ],
            },
            timeout=120,
        ),
        httpx.post(
            f"{server}/compare",
            json={
                "a": {"preset": "mobilenet_v1", "resolution": 128},
                "b": {"in_channels": 3, "resolution": 32, "classifier": None, "stages": [{"block": "conv", "c": 8}]},
            },
            timeout=120,
        ),
    ]
    ids = [r.json()["id"] for r in made]
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    names = [f'#recent-list li[data-id="{i}"] > .entry-head > a' for i in ids]
    page.wait_for_function(
        "(sels) => sels.every((s) => document.querySelector(s)"
        " && !document.querySelector(s).textContent.includes('custom spec'))",
        arg=names,
    )
    assert page.text_content(names[0]) == "mobilenet_v2 α 0.35 ρ 96"
    assert page.text_content(names[1]) == "conv c16 k5 s2, depthwise_separable c24 k3 (+1 more) α 1 ρ 40"
    assert page.text_content(names[2]) == "mobilenet_v1 α 1 ρ 128 vs conv c8 k3 α 1 ρ 32"
    texts = page.eval_on_selector_all("#recent-list li", "ls => ls.map(l => l.textContent)")
    assert not any(re.search("[0-9a-f]{32}", text) for text in texts), texts
    # The tag stays on its name's first line, inside the sidebar.
    for i in ids:
        name, tag = (
            _box(page, f'#recent-list li[data-id="{i}"] .entry-head a'),
            _box(page, f'#recent-list li[data-id="{i}"] .kind'),
        )
        assert tag["x"] >= name["x"] + name["width"] - 1 and abs(tag["y"] - name["y"]) < 8
        recent = _box(page, "#recent")
        assert recent["x"] <= tag["x"] and tag["x"] + tag["width"] <= recent["x"] + recent["width"]
