"""Predicted latency on the dashboard, in a real headless Chromium (Debian's package) driven by Playwright against
a real server: the predictors panel (each predictor's accuracy beside the MACs baseline, its held-out designs as
a predicted-against-measured scatter), a profile and a sweep answered from a predictor and marked as predicted
(an extrapolated design warned of; a sweep's verified points shown against their measurement), and, with no
predictor, the panel saying how to calibrate one and a predicted profile's 422 shown as the server says it.

The predictor is fitted on a formula (no timer: the same approach as ``tests/app/test_predictors_api.py``) and
put in the store before the server starts. Screenshots go to ``$TEST_ARTIFACTS`` (default ``test-artifacts/``).
Every wait is on a state of the page; the ceiling only catches a hang.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from app.predictor_store import PredictorStore
from tests.app.predictors import fitted_predictor
from tests.live_server import live_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))

if CHROMIUM is None and os.environ.get("CI") != "true":
    pytest.skip("Chromium not installed (apt-get install chromium); CI installs it", allow_module_level=True)

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
HTTP_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def predictor_id(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("store") / "store.sqlite3"
    predictor = fitted_predictor()
    store = PredictorStore(path)
    store.add_predictor(predictor)
    store.close()
    return path, predictor.id


@pytest.fixture(scope="module")
def server(predictor_id: tuple[Path, str]) -> Iterator[str]:
    with live_server(predictor_id[0]) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    assert CHROMIUM is not None, "CI needs Debian's chromium: apt-get install chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _open(browser, base: str, width: int = 1400):
    context = browser.new_context(viewport={"width": width, "height": 1000}, base_url=base)
    context.set_default_timeout(LIVENESS_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: errors.append(f"{req.url}: {req.failure}"))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status == 404 or r.status >= 500 else None)
    page.goto("/")
    page.wait_for_selector("body[data-ready=true]")
    return context, page, errors


@pytest.fixture
def page(browser, server: str):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context, page, errors = _open(browser, server)
    yield page
    context.close()
    assert errors == [], errors  # no script error, no missing asset, no server error


def _box(page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not displayed"
    return box


def _inside(inner: dict, outer: dict, slack: float = 1) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


def _in_view(page, selector: str) -> bool:
    box, view = _box(page, selector), page.viewport_size
    return box["y"] >= -1 and box["y"] + box["height"] <= view["height"] + 1 and box["width"] > 0


def _legend(page, key: str) -> list[tuple[str, str, bool]]:
    """The legend of chart ``chart-<key>``: shown inside its chart's box, right above its canvas; its entries as
    (label, swatch colour, muted)."""
    legend, canvas, box = (
        _box(page, f"#legend-{key}"),
        _box(page, f"#chart-{key}"),
        _box(page, f".chart:has(#chart-{key})"),
    )
    assert legend["width"] > 0 and legend["height"] > 0, key
    assert _inside(legend, box) and _inside(canvas, box), (key, legend, canvas, box)
    assert 0 <= canvas["y"] - (legend["y"] + legend["height"]) <= 12, (key, legend, canvas)
    return [
        tuple(entry)
        for entry in page.eval_on_selector_all(
            f"#legend-{key} .legend-item",
            """items => items.map(i => { const s = getComputedStyle(i.querySelector('.swatch'));
                 const colour = s.backgroundColor !== 'rgba(0, 0, 0, 0)' ? s.backgroundColor : s.borderTopColor;
                 return [i.textContent, colour, i.classList.contains('absent')]; })""",
        )
    ]


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
        "datasets: c.data.datasets.map(d => ({label: d.label, data: d.data, role: d.role}))}; }",
        canvas_id,
    )


# Each drawn point of a chart's scatter datasets (role "points"), in canvas pixels, and the plot area.
_DRAWN = """(id) => { const c = Chart.getChart(id); const area = c.chartArea;
  const points = c.data.datasets.flatMap((d, i) => d.role === 'points'
    ? c.getDatasetMeta(i).data.map((e, j) => ({x: e.x, y: e.y, name: d.data[j].name})) : []);
  return {area: {left: area.left, right: area.right, top: area.top, bottom: area.bottom}, points}; }"""


def _check_prediction_scatter(page, key: str, points: list[tuple[float, float]], what: str) -> None:
    """The predicted-against-measured chart ``chart-<key>``: every (measured, predicted) drawn inside the plot area,
    the exact line and the ±10% band, axes in ms, a legend naming each colour, the design's name on hover."""
    chart = _chart_data(page, f"chart-{key}")
    drawn = sorted((p["x"], p["y"]) for d in chart["datasets"] if d["role"] == "points" for p in d["data"])
    assert len(drawn) == len(points)
    assert [v for xy in drawn for v in xy] == pytest.approx([v for xy in sorted(points) for v in xy])
    assert [d["role"] for d in chart["datasets"]].count("band") == 2 and "exact" in [
        d["role"] for d in chart["datasets"]
    ]
    titles = page.evaluate(f"['x', 'y'].map((a) => Chart.getChart('chart-{key}').options.scales[a].title.text)")
    assert titles == ["measured latency (ms)", "predicted latency (ms)"], titles
    placed = page.evaluate(_DRAWN, f"chart-{key}")
    area = placed["area"]
    assert len(placed["points"]) == len(points)
    for p in placed["points"]:
        assert area["left"] <= p["x"] <= area["right"] and area["top"] <= p["y"] <= area["bottom"], (p, area)
    assert _painted_pixels(page, f"chart-{key}") > 2000
    legend = _legend(page, key)
    labels = [label for label, _, _ in legend]
    assert labels == [
        f"{what} within ±10%",
        f"{what} off by more than 10%",
        "y = x (predicted = measured)",
        "±10% band",
    ], labels
    within = sum(abs(pred - meas) <= 0.1 * meas for meas, pred in points)
    assert [muted for _, _, muted in legend[:2]] == [within == 0, within == len(points)]
    assert len({colour for _, colour, _ in legend}) == 4  # each colour its own entry

    # Hovering a point shows its design's name.
    page.locator(f"#chart-{key}").scroll_into_view_if_needed()
    first = page.evaluate(_DRAWN, f"chart-{key}")["points"][0]
    canvas = _box(page, f"#chart-{key}")
    page.mouse.move(canvas["x"] + first["x"], canvas["y"] + first["y"])
    page.wait_for_function(f"Chart.getChart('chart-{key}').tooltip.opacity > 0")
    assert page.evaluate(f"Chart.getChart('chart-{key}').tooltip.title") == [first["name"]]


def test_the_predictors_panel_lists_it_with_its_accuracy_and_draws_its_held_out_designs(
    page, server: str, predictor_id: tuple[Path, str]
) -> None:
    pid = predictor_id[1]
    described = httpx.get(f"{server}/predictors/{pid}", timeout=HTTP_TIMEOUT_S).json()
    acc = described["held_out_accuracy"]
    row = f'#predictors-table tbody tr[data-id="{pid}"]'
    page.wait_for_selector(f"{row}.selected")
    cells = page.eval_on_selector_all(
        f"{row} td[data-key]", "cs => Object.fromEntries(cs.map(c => [c.dataset.key, c.textContent]))"
    )

    def pct(v: float) -> str:
        return f"{100 * v:.0f}%" if v >= 0.995 or v == 0 else f"{100 * v:.1f}%"

    assert cells["runtime"] == "eager" and cells["device"] == "cpu (test cpu)" and cells["dtype"] == "float32"
    assert cells["threads"] == "default" and cells["fitted_at"].startswith(described["fitted_at"][:10])
    assert cells["designs"] == f"{described['designs']} fitted + {acc['designs']} held out"
    assert cells["within_10pct"] == pct(acc["within_10pct"]) and cells["within_5pct"] == pct(acc["within_5pct"])
    assert cells["mape"] == pct(acc["mape"]) and cells["spearman"] == f"{acc['spearman']:.3f}"
    macs = acc["baselines"]["macs"]
    assert cells["macs_baseline"] == f"{pct(macs['within_10pct'])} · {pct(macs['mape'])} · {macs['spearman']:.3f}"
    assert page.is_hidden("#predictors-empty")
    heads = page.eval_on_selector_all("#predictors-table th", "hs => hs.map(h => h.textContent)")
    assert "MACs baseline: ±10% · MAPE · Spearman" in heads

    page.wait_for_selector("#predictor-chart:not([hidden])")
    held = [(h["measured_ms"], h["predicted_ms"]) for h in described["held_out"]]
    assert len(held) == acc["designs"] >= 2
    assert f"{len(held)} held-out designs" in page.text_content("#predictor-title")
    _check_prediction_scatter(page, "predictor", held, "held-out design")
    names = page.evaluate(_DRAWN, "chart-predictor")["points"]
    assert sorted(p["name"] for p in names) == sorted(h["design"] for h in described["held_out"])
    page.locator("#predictors").scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "predictors-panel.png", full_page=True)

    # The panel reflows: no sideways scroll from 800 px, the chart as wide as its box, the table within the page.
    widths = []
    for width in (1400, 1024, 800):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_function(
            """() => { const c = document.getElementById('chart-predictor');
                 const box = c.parentElement.getBoundingClientRect(), r = c.getBoundingClientRect();
                 return r.width > 100 && Math.abs(r.width - box.width) < 2; }"""
        )
        assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0, width
        assert _inside(_box(page, "#chart-predictor"), _box(page, "#predictor-chart"))
        assert _box(page, "#predictors-box")["x"] + _box(page, "#predictors-box")["width"] <= width
        widths.append(_box(page, "#chart-predictor")["width"])
        _legend(page, "predictor")
    assert widths[0] != widths[1] != widths[2], widths
    page.locator("#predictors").scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "predictors-panel-800px.png")


def test_a_predicted_profile_and_sweep_are_marked_as_predicted(
    page, server: str, predictor_id: tuple[Path, str]
) -> None:
    pid = predictor_id[1]
    page.select_option("#preset-a", "mobilenet_v2")
    page.wait_for_function("document.getElementById('spec-a').value.includes('mobilenet_v2')")
    page.fill("#width-a", "0.75")
    page.fill("#resolution-a", "160")
    page.check("#predict")
    assert page.is_checked("#latency-on")  # predicting is a kind of latency
    page.click("#run")
    page.wait_for_selector('#latency-table tr[data-method="predicted"]')
    page.wait_for_selector("#status a.to-answer")
    assert _in_view(page, "#result-title")
    expected = httpx.post(
        f"{server}/profile",
        json={"preset": "mobilenet_v2", "width_multiplier": 0.75, "resolution": 160, "latency": {"predict": True}},
        timeout=HTTP_TIMEOUT_S,
    ).json()["latency"][0]
    median = float(page.get_attribute('#latency-table tr[data-method="predicted"] td[data-value]', "data-value"))
    assert median == pytest.approx(expected["end_to_end"]["median_ms"])
    assert "predicted" in page.text_content("#latency-table caption")
    row = page.eval_on_selector_all("#latency-table tbody tr td", "cs => cs.map(c => c.textContent)")
    assert row[2].startswith(f"{median:.3f}") and row[2].endswith("predicted")
    low, high = (float(v) for v in row[3].split(" – "))
    assert low == pytest.approx(expected["end_to_end"]["low_ms"], abs=1e-3) and high > median > low
    assert "within ±10%" in row[4] and "Spearman" in row[4] and "test cpu" in row[5]
    assert page.is_visible("#latency-table .badge.predicted")
    assert page.query_selector(".warning.extrapolated") is None
    # The per-layer bars: the predicted times, in their own colour, named as predicted; no roofline.
    latency = page.evaluate("Chart.getChart('chart-latency').data.datasets.map(d => d.label)")
    assert latency == ["cpu (predicted)"]
    assert [label for label, _, _ in _legend(page, "latency")] == ["predicted time (no roofline verdict)"]
    assert "predicted" in page.text_content(".chart:has(#chart-latency) h3")
    assert page.query_selector("#chart-roofline") is None
    page.screenshot(path=ARTIFACTS / "predicted-profile.png", full_page=True)

    # Far outside what was measured: a visible warning, the interval widened.
    page.fill("#width-a", "3")
    page.fill("#resolution-a", "512")
    page.click("#run")
    page.wait_for_selector(".warning.extrapolated")
    warning = page.text_content(".warning.extrapolated")
    assert warning.startswith("⚠ extrapolated") and "do not trust" in warning
    assert page.is_visible(".warning.extrapolated") and "(widened)" in page.text_content("#latency-table")
    page.screenshot(path=ARTIFACTS / "predicted-extrapolated.png", full_page=True)

    # A predicted comparison: A's and B's predictions and B / A, each side's predicted per-layer bars.
    page.fill("#width-a", "0.75")
    page.fill("#resolution-a", "160")
    page.check("#compare-mode")
    page.select_option("#preset-b", "mobilenet_v2")
    page.wait_for_function("document.getElementById('spec-b').value.includes('mobilenet_v2')")
    page.fill("#width-b", "0.5")
    page.fill("#resolution-b", "160")
    page.click("#run")
    page.wait_for_selector('#compare-latency-table tr[data-method="predicted"]')
    page.wait_for_selector('#latency-table tr[data-side="b"][data-method="predicted"]')
    assert "predicted" in page.text_content("#compare-latency-table caption")
    ratio = float(page.get_attribute("#compare-latency-table td[data-value]", "data-value"))
    assert 0 < ratio < 1  # half the width predicts faster on this made-up device
    labels = page.evaluate("Chart.getChart('chart-latency').data.datasets.map(d => d.label)")
    assert labels == ["A cpu (predicted)", "B cpu (predicted)"], labels
    page.screenshot(path=ARTIFACTS / "predicted-compare.png", full_page=True)
    page.uncheck("#compare-mode")

    # A predicted sweep: every point's predicted latency plotted and labelled so.
    page.evaluate("scrollTo(0, 0)")
    page.select_option("#sweep-preset", "mobilenet_v2")
    page.fill("#sweep-alphas", "0.5, 1.0")
    page.fill("#sweep-rhos", "96, 128")
    page.check("#sweep-latency")
    assert "predicted" in page.text_content("#sweep-latency-how") and page.is_visible("#sweep-verify")
    page.fill("#sweep-verify", "0")
    page.click("#sweep-run")
    page.wait_for_selector("#sweep-status a.to-answer")
    assert _in_view(page, "#sweep-result-title")
    sweep_id = page.url.split("id=")[1]
    stored = httpx.get(f"{server}/sweeps/{sweep_id}", timeout=HTTP_TIMEOUT_S).json()
    assert stored["latency_method"] == "predicted"
    assert page.input_value("#sweep-y") == "latency"
    assert page.eval_on_selector("#sweep-y", "s => s.selectedOptions[0].textContent") == "predicted latency (ms)"
    assert page.text_content("#scatter-title").startswith("predicted latency (ms)")
    assert page.evaluate("Chart.getChart('chart-sweep').options.scales.y.title.text") == "predicted latency (ms)"
    scatter = _chart_data(page, "chart-sweep")
    plotted = sorted(p["y"] for d in scatter["datasets"] for p in d["data"])
    assert plotted == pytest.approx(sorted(p["latency"][0]["end_to_end"]["median_ms"] for p in stored["points"]))
    assert _painted_pixels(page, "chart-sweep") > 2000
    captions = page.eval_on_selector_all("table.heatmap caption", "cs => cs.map(c => c.textContent)")
    assert any(c.startswith("predicted latency (ms)") for c in captions), captions
    note = page.text_content("#sweep-predicted")
    assert "predicted" in note and pid not in note and "within ±10%" in note
    assert page.is_hidden("#verify-box")
    page.screenshot(path=ARTIFACTS / "predicted-sweep.png", full_page=True)

    # Verified: the fastest predicted front point measured too (a job), shown against its prediction.
    page.fill("#budget", "1")
    page.fill("#sweep-verify", "1")
    page.evaluate("scrollTo(0, 0)")
    page.click("#sweep-run")
    page.wait_for_selector("#sweep-progress:not([hidden])")
    page.wait_for_selector("#sweep-progress", state="hidden")
    page.wait_for_selector("#sweep-status a.to-answer")
    page.wait_for_selector("#verify-table tbody tr")
    sweep_id = page.url.split("id=")[1]
    verify = httpx.get(f"{server}/sweeps/{sweep_id}", timeout=HTTP_TIMEOUT_S).json()["verify"]
    (checked,) = verify["points"]
    cells = page.eval_on_selector_all("#verify-table tbody td", "cs => cs.map(c => c.textContent)")
    assert cells[1] == f"{checked['predicted_ms']:.3f}"
    if checked["measured_ms"]:
        assert cells[2] == f"{checked['measured_ms']:.3f}"
        _check_prediction_scatter(page, "verify", [(checked["measured_ms"], checked["predicted_ms"])], "verified point")
    page.locator("#verify-box").scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "predicted-sweep-verified.png", full_page=True)


def test_without_a_predictor_the_panel_says_how_to_calibrate_and_predict_shows_the_422(browser, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with live_server(tmp_path / "store.sqlite3") as base:
        context, page, errors = _open(browser, base)
        page.wait_for_selector("#predictors-empty:not([hidden])")
        empty = page.text_content("#predictors-empty")
        assert 'POST /predictors {"device": "cpu", "runtime": "eager", "budget_s": 900}' in empty, empty
        assert page.query_selector("#predictors-table") is None and page.is_hidden("#predictor-chart")

        page.select_option("#preset-a", "mobilenet_v3_small")
        page.wait_for_function("document.getElementById('spec-a').value.includes('mobilenet_v3_small')")
        page.check("#predict")
        page.click("#run")
        page.wait_for_selector("#error:not([hidden])")
        message = page.text_content("#error")
        assert message.startswith("latency.devices.0: no latency predictor for eager on cpu"), message
        assert 'POST /predictors {"device": "cpu", "runtime": "eager", "dtype": "float32"}' in message, message
        assert "Failed" in page.text_content("#status")
        page.screenshot(path=ARTIFACTS / "predictors-none-422.png", full_page=True)

        # Calibrating from the page: its progress (designs measured, elapsed) while it runs; stopped here.
        page.fill("#calibrate-budget", "600")
        page.click("#calibrate-run")
        page.wait_for_selector("#calibrate-progress progress")
        progress = page.text_content("#calibrate-progress")
        assert "designs measured" in progress and "s of 600 s" in progress, progress
        page.locator("#predictors").scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / "predictors-calibrating.png", full_page=True)
        page.click("#calibrate-cancel")
        page.wait_for_selector('#calibrate-progress[data-state="cancelled"]')
        assert "stopped" in page.text_content("#calibrate-progress") and page.is_enabled("#calibrate-run")
        context.close()
        assert errors == [], errors
