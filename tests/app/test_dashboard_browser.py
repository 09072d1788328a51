"""The dashboard in a real headless Chromium (Debian's package) driven by Playwright, against a real server.

Screenshots go to ``$TEST_ARTIFACTS`` (default ``test-artifacts/``). Locally the test skips without Chromium;
under CI (``CI=true``) a missing browser is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
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
    assert page.text_content("#recent-list li:first-child").startswith("mobilenet_v2 vs mobilenet_v2")


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
    page.screenshot(path=ARTIFACTS / "dashboard-latency.png", full_page=True)


def test_runtimes_chosen_on_the_page_each_get_a_row_and_a_per_layer_series(page) -> None:
    _choose_preset(page, "a", "mobilenet_v3_small")
    page.fill("#resolution-a", "64")
    page.check("#latency-on")
    page.check('input[name="runtime"][value="onnxruntime"]')
    page.check("#per-layer")
    page.fill("#budget", "2")
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
    page.click("summary")
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
    page.click("#form-a summary")
    page.click("#form-b summary")
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
