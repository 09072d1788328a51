"""The HTTP API: reports that match the core and torchvision, 4xx with actionable details, OpenAPI."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from torchvision.models import mobilenet_v2

from app.main import create_app
from app.schemas import ReportOut
from app.settings import Settings, get_settings
from profiler import profile
from tests.app.shared import handed_back, started


@pytest.fixture(scope="module")
def shared() -> Iterator[TestClient]:
    with started() as c:
        yield c


@pytest.fixture
def client(shared: TestClient) -> Iterator[TestClient]:
    with handed_back(shared) as c:
        yield c


def test_profile_preset_with_overrides(client: TestClient) -> None:
    r = client.post("/profile", json={"preset": "mobilenet_v2", "width_multiplier": 0.75, "resolution": 160})
    assert r.status_code == 200
    body = ReportOut.model_validate(r.json())
    reference = mobilenet_v2(width_mult=0.75)
    assert body.totals.params == sum(p.numel() for p in reference.parameters())
    assert body.totals.flops == 2 * body.totals.macs
    assert body.spec["width_multiplier"] == 0.75 and body.spec["resolution"] == 160
    assert body.input_shape == [1, 3, 160, 160] and body.output_shape == [1, 1000]
    assert body.counter.method == "shapes"
    assert set(body.conventions) == {"macs", "flops", "fvcore_flops", "params", "activations"}
    assert body.unsupported_ops == {"aten::hardtanh": 35, "aten::add": 10}
    assert sum(layer.macs for layer in body.layers) == body.totals.macs
    assert body.modules["features.4"].macs == sum(x.macs for x in body.layers if x.name.startswith("features.4."))
    names = [layer.name for layer in body.layers]
    assert "features.4.conv_dw" in names and "classifier.fc" in names


def test_profile_table_same_numbers_as_core(client: TestClient) -> None:
    spec = {
        "name": "pair",
        "in_channels": 64,
        "resolution": [120, 80],
        "classifier": None,
        "stages": [{"block": "depthwise_separable", "c": 128, "dilation": 2}],
    }
    r = client.post("/profile", json={**spec, "batch_size": 2})
    assert r.status_code == 200
    assert r.json()["totals"] == profile(spec, batch_size=2).to_dict()["totals"]
    assert r.json()["name"] == "pair"


def test_fvcore_counter(client: TestClient) -> None:
    r = client.post("/profile", json={"preset": "resnet18", "resolution": 64, "counter": "fvcore"})
    assert r.status_code == 200
    body = r.json()
    assert body["counter"]["method"] == "fvcore"
    assert (
        body["totals"]["fvcore_flops"] == profile({"preset": "resnet18", "resolution": 64}).counts.totals.fvcore_flops
    )


@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        ({"stages": [{"block": "dense", "c": 8}]}, ["body", "stages", 0, "block"], "unknown block 'dense'"),
        ({"stages": [{"block": "conv", "c": 0}]}, ["body", "stages", 0, "c"], "greater than or equal to 1"),
        ({"stages": [{"block": "conv", "c": 8, "s": 0}]}, ["body", "stages", 0, "s"], "greater than"),
        ({"preset": "mobilenet_v2", "width_multiplier": 0}, ["body", "width_multiplier"], "greater than 0"),
        ({"preset": "mobilenet_v9"}, ["body", "preset"], "mobilenet_v2"),
        ({"preset": "resnet18", "resolution": "big"}, ["body", "resolution"], "integer"),
        (
            {"resolution": 6, "classifier": None, "stages": [{"block": "conv", "c": 8, "k": 9, "padding": 0}]},
            ["body", "stages", 0, "k"],
            "larger than its 6-pixel input",
        ),
        ({"preset": "resnet18", "resolution": 10**6}, ["body", "resolution"], "PROFILER_MAX_RESOLUTION"),
        ({"preset": "resnet18", "batch_size": 0}, ["body", "batch_size"], "greater than or equal to 1"),
        ({"preset": "resnet18", "counter": "magic"}, ["body", "counter"], "shapes"),
    ],
)
def test_bad_input_is_422_naming_field_and_reason(client: TestClient, body: dict, loc: list, words: str) -> None:
    r = client.post("/profile", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert any(d["loc"][: len(loc)] == loc and words in d["msg"] for d in detail), detail


def test_malformed_json_is_422(client: TestClient) -> None:
    r = client.post("/profile", content=b'{"preset": ', headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"


def test_limits_come_from_settings(client: TestClient) -> None:
    client.app.dependency_overrides[get_settings] = lambda: Settings(max_resolution=100)
    r = client.post("/profile", json={"preset": "resnet18", "resolution": 128})
    assert r.status_code == 422
    assert "PROFILER_MAX_RESOLUTION" in r.json()["detail"][0]["msg"]


def test_presets(client: TestClient) -> None:
    listed = client.get("/presets").json()
    assert {p["name"] for p in listed} >= {"mobilenet_v1", "mobilenet_v2", "resnet50"}
    assert all(p["citation"] for p in listed)
    one = client.get("/presets/mobilenet_v3_small").json()
    assert one["spec"]["stages"][1] == {
        "block": "inverted_residual",
        "k": 3,
        "exp": 16,
        "c": 16,
        "act": "relu",
        "s": 2,
        "n": 1,
        "se": True,
    }
    # The table is an editable spec: sent back as is, it profiles the same model.
    spec = {k: v for k, v in one["spec"].items() if k != "preset"}
    assert client.post("/profile", json=spec).json()["totals"]["params"] == 2_542_856
    missing = client.get("/presets/mobilenet_v9")
    assert missing.status_code == 404 and "mobilenet_v2" in missing.json()["detail"]


def test_health_says_when_cuda_is_missing(client: TestClient) -> None:
    import torch

    body = client.get("/health").json()
    assert body["status"] == "ok"
    if not torch.cuda.is_available():
        assert body["cuda"] == "cuda not available"


def test_openapi_shows_the_row_union_and_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    request = schema["paths"]["/profile"]["post"]["requestBody"]["content"]["application/json"]
    assert {"preset", "table", "one_layer"} <= set(request["examples"])
    text = str(schema["components"]["schemas"])
    assert "'propertyName': 'block'" in text and "inverted_residual" in text
    assert client.get("/docs").status_code == 200


def test_openapi_examples_all_work(client: TestClient) -> None:
    from app.schemas import PROFILE_EXAMPLES

    for name, example in PROFILE_EXAMPLES.items():
        assert client.post("/profile", json=example["value"]).status_code == 200, name


def test_huge_body_is_413_before_it_is_read(client: TestClient) -> None:
    rows = [{"block": "conv", "c": 8}] * 200_000  # about 4 MB of JSON
    r = client.post("/profile", json={"stages": rows})
    assert r.status_code == 413
    assert "PROFILER_MAX_BODY_BYTES" in r.json()["detail"]


def test_body_without_content_length_is_counted() -> None:
    import asyncio

    from app.middleware import BodySizeLimit

    async def app(scope, receive, send):  # reads the whole body, as FastAPI does
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    chunks = [
        {"type": "http.request", "body": b"x" * 600, "more_body": True},
        {"type": "http.request", "body": b"x" * 600, "more_body": False},
    ]
    sent = []

    async def receive():
        return chunks.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(BodySizeLimit(app, max_bytes=1000, timeout_s=60)({"type": "http", "headers": []}, receive, send))
    assert sent[0]["status"] == 413


def test_api_token_when_configured() -> None:
    client = TestClient(create_app(Settings(api_token="s3cret")))
    assert client.get("/health").status_code == 200  # open, for container health checks
    r = client.post("/profile", json={"preset": "resnet18"})
    assert r.status_code == 401 and "Authorization: Bearer" in r.json()["detail"]
    assert client.get("/presets", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.post("/profile", json={"preset": "resnet18"}, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_cors_origins_when_configured() -> None:
    client = TestClient(create_app(Settings(cors_origins=["https://dash.example.com"])))
    r = client.options(
        "/profile", headers={"Origin": "https://dash.example.com", "Access-Control-Request-Method": "POST"}
    )
    assert r.headers["access-control-allow-origin"] == "https://dash.example.com"
    other = client.get("/health", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers


def test_create_app_settings_reach_the_routes() -> None:
    client = TestClient(create_app(Settings(max_resolution=100)))
    r = client.post("/profile", json={"preset": "resnet18", "resolution": 128})
    assert r.status_code == 422 and "PROFILER_MAX_RESOLUTION" in r.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("raw", "status", "words"),
    [
        (b'{"preset": "resnet18", "width_multiplier": NaN}', 422, "finite number"),
        (b'{"preset": "resnet18", "width_multiplier": Infinity}', 422, "finite number"),
        (b'{"preset": "resnet18", "width_multiplier": 1e308}', 422, "less than or equal to 64"),
        (b'{"stages": [{"block": "conv", "c": 1e308}]}', 422, "valid integer"),
        (b'{"stages": [{"block": "conv", "c": ' + b"9" * 5000 + b"}]}", 400, "parsing the body"),
        (b'{"stages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "parsing the body"),
        (b'{"stages": [' + b",".join([b'{"block": "conv", "c": 8}'] * 5000) + b"]}", 422, "PROFILER_MAX_BLOCKS"),
        (b'{"preset": "resnet18", "resolution": "224"}', 422, "valid integer"),
        (b'{"preset": "resnet18", "stages": [{"block": "conv", "c": 8, "padding": false}]}', 422, "valid integer"),
        (b"null", 422, "dictionary"),
        (b"", 422, "required"),
    ],
)
def test_nasty_bodies_are_4xx(raw: bytes, status: int, words: str) -> None:
    client = TestClient(create_app(), raise_server_exceptions=False)
    r = client.post("/profile", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert words in r.text


def test_fvcore_requests_waiting_for_a_slot_do_not_hold_up_shape_counts() -> None:
    app = create_app(Settings(fvcore_concurrency=1, fvcore_wait_s=30, counting_threads=1))
    with TestClient(app) as c, ThreadPoolExecutor(3) as pool:
        app.state.fvcore_slots.acquire()  # as if a trace were running
        waiting = [
            pool.submit(
                c.post,
                "/profile",
                json={"preset": "resnet18", "resolution": 64, "counter": "fvcore", "name": f"wait-{i}"},
            )
            for i in range(3)
        ]
        time.sleep(0.5)
        shapes = c.post("/profile", json={"preset": "mobilenet_v2", "name": "not-behind-fvcore"})
        assert shapes.status_code == 200 and not any(f.done() for f in waiting)
        app.state.fvcore_slots.release()
        assert [f.result(timeout=120).status_code for f in waiting] == [200, 200, 200]


def test_counts_run_in_a_counting_process_that_is_replaced_if_it_dies() -> None:
    with TestClient(create_app(Settings(counting_processes=1))) as c:
        assert c.post("/profile", json={"preset": "mobilenet_v2", "name": "before"}).status_code == 200
        pool = c.app.state.counting._pool
        (pid,) = [p.pid for p in pool._processes.values()]
        assert pid != os.getpid()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 300
        statuses = []
        while time.monotonic() < deadline:  # a 503 to retry while the pool is replaced, never a 500
            r = c.post("/profile", json={"preset": "mobilenet_v2", "name": f"after-{len(statuses)}"})
            statuses.append(r.status_code)
            if r.status_code == 200:
                break
            assert r.status_code == 503 and r.headers["retry-after"] and "retry" in r.json()["detail"]
        assert statuses[-1] == 200 and set(statuses) <= {200, 503}
        assert c.app.state.counting._pool is not pool


def test_fvcore_counts_run_outside_the_server_and_stop_at_their_deadline() -> None:
    with TestClient(create_app(Settings(fvcore_timeout_s=0.5))) as c:
        slow = c.post("/profile", json={"preset": "resnet50", "resolution": 512, "counter": "fvcore"})
        assert slow.status_code == 422
        (detail,) = slow.json()["detail"]
        assert detail["loc"] == ["body", "counter"] and "took longer than 0.5 s" in detail["msg"]
        assert "PROFILER_FVCORE_TIMEOUT_S" in detail["msg"]
    with TestClient(create_app()) as c:
        quick = c.post("/profile", json={"preset": "mobilenet_v3_small", "resolution": 32, "counter": "fvcore"})
        assert quick.status_code == 200 and quick.json()["counter"]["method"] == "fvcore"
        (pid,) = [p.pid for p in c.app.state.fvcore_counting._pool._processes.values()]
        assert pid != os.getpid()  # traced in its own process
