"""Every number a request may carry, at extremes: an answer below 500 each time, and a 422 whose ``loc`` names
the field for a value outside its range. The numeric fields are found in the service's own OpenAPI schema, so
a field added later is covered without editing this test."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from profiler.model.blocks import BLOCKS

APP = create_app()
SCHEMAS = APP.openapi()["components"]["schemas"]
# Out of every range: below it, past 64 bits, past a double, and an integer too long to format as a message.
ABSURD = [-1, 2**63, -(2**63), 10**400, 1e308, -1e308, 10**2200]


def _numeric(prop: dict[str, Any]) -> bool:
    options = prop.get("anyOf", [prop])
    return any(o.get("type") in {"integer", "number"} for o in options) or (
        prop.get("type") == "array" and any(_numeric(i) for i in prop.get("prefixItems", []))
    )


def _fields(schema: str) -> list[str]:
    return sorted(name for name, prop in SCHEMAS[schema]["properties"].items() if _numeric(prop))


ROW_BASE = {"c": 16, "squeeze": 8}  # the required fields of the rows that have them
SMALL = {"preset": "mobilenet_v3_small", "resolution": 32}
# (case, a valid body, where in it to put the number, the loc a refusal must name)
CASES: list[tuple[str, dict[str, Any], list[Any], list[Any]]] = []
for field in _fields("ProfileRequest"):
    CASES.append((field, SMALL, [field], ["body", field]))
for field in _fields("ClassifierSpec"):
    CASES.append(
        (f"classifier.{field}", {**SMALL, "classifier": {}}, ["classifier", field], ["body", "classifier", field])
    )
for field in _fields("LatencyRequest"):
    at = ["latency", field]
    CASES.append((f"latency.{field}", {**SMALL, "latency": {"devices": ["nowhere"]}}, at, ["body", *at]))
for name, block in BLOCKS.items():
    numeric = _fields(block.row.__name__)
    for field in numeric:
        row = {"block": name, **{k: v for k, v in ROW_BASE.items() if k in numeric}}
        body = {"in_channels": 16, "resolution": 32, "classifier": None, "stages": [row]}
        CASES.append((f"{name}.{field}", body, ["stages", 0, field], ["body", "stages", 0, field]))


def _with(body: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def test_the_schema_has_numeric_fields_to_try() -> None:
    assert len(CASES) > 30, [c[0] for c in CASES]


@pytest.mark.parametrize(("field", "base", "path", "loc"), CASES, ids=[c[0] for c in CASES])
def test_absurd_numbers_are_a_422_naming_the_field(
    field: str, base: dict[str, Any], path: list[Any], loc: list[Any]
) -> None:
    client = TestClient(APP, raise_server_exceptions=False)
    for value in ABSURD:
        body = _with(base, path, value)
        r = client.post("/profile", content=json.dumps(body), headers={"content-type": "application/json"})
        assert r.status_code == 422, (field, value, r.status_code, r.text[:300])
        locs = [tuple(d["loc"]) for d in r.json()["detail"]]
        assert any(tuple(loc) == lc[: len(loc)] for lc in locs), (field, value, locs)


def test_threads_beyond_the_host_cores_are_refused() -> None:
    cores = os.cpu_count() or 1
    client = TestClient(APP, raise_server_exceptions=False)
    r = client.post("/profile", json={**SMALL, "latency": {"threads": cores + 1}})
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert detail["loc"] == ["body", "latency", "threads"] and f"{cores} cores" in detail["msg"]
