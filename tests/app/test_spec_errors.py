"""Errors in the spec's own terms, as a user meets them: one per mistake, loc as the field is written, no
pydantic type names, unknown names answered with the closest known one at every level."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from profiler import SpecError, parse_spec

TYPE_NAMES = ("constrained", "tuple[", "SqueezeExcite", "inverted_residual", "Unexpected keyword", "Extra inputs")


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


@pytest.mark.parametrize(
    ("body", "loc", "msg"),
    [
        ({"preset": "mobilenet_v2", "resolution": 0}, ["body", "resolution"], "greater than or equal to 1"),
        ({"preset": "mobilenet_v2", "resolution": [0, 224]}, ["body", "resolution", 0], "greater than or equal to 1"),
        (
            {"preset": "mobilenet_v2", "widht_multiplier": 1},
            ["body", "widht_multiplier"],
            "unknown field 'widht_multiplier'; did you mean 'width_multiplier'?",
        ),
        (
            {"preset": "mobilenet_v2", "latency": {"devcies": ["cpu"]}},
            ["body", "latency", "devcies"],
            "unknown field 'devcies'; did you mean 'devices'?",
        ),
        (
            {"preset": "mobilenet_v2", "classifier": {"dropuot": 0.1}},
            ["body", "classifier", "dropuot"],
            "did you mean 'dropout'?",
        ),
        ({"stages": [{"block": "inverted_residual", "c": 16, "kk": 3}]}, ["body", "stages", 0, "kk"], "'k'?"),
        ({"stages": [{"block": "convv", "c": 16}]}, ["body", "stages", 0, "block"], "did you mean 'conv'?"),
        (
            {"stages": [{"block": "inverted_residual", "c": 16, "se": {"ratio": 2}}]},
            ["body", "stages", 0, "se", "ratio"],
            "less than or equal to 1",
        ),
        (
            {"stages": [{"block": "inverted_residual", "c": 16, "se": {"gaet": "sigmoid"}}]},
            ["body", "stages", 0, "se", "gaet"],
            "did you mean 'gate'?",
        ),
        (
            {"preset": "mobilenet_v2", "latency": {"budget_s": 1000}},
            ["body", "latency", "budget_s"],
            "budget_s 1,000 exceeds the limit of 120",
        ),
    ],
)
def test_one_error_in_the_specs_terms(client: TestClient, body: dict, loc: list, msg: str) -> None:
    r = client.post("/profile", json=body)
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    assert error["loc"] == loc and msg in error["msg"], error
    assert not any(name in str(error["loc"]) + error["msg"] for name in TYPE_NAMES), error


def test_sweeps_and_comparisons_answer_the_same_way(client: TestClient) -> None:
    r = client.post("/sweep", json={"base": {"preset": "mobilenet_v2"}, "gird": {"resolution": [96]}})
    assert r.json()["detail"][0]["msg"] == "unknown field 'gird'; did you mean 'grid'?"
    r = client.post("/compare", json={"a": {"preset": "mobilenet_v2", "resolution": 0}, "b": {"preset": "resnet18"}})
    (error,) = r.json()["detail"]
    assert error["loc"] == ["body", "a", "resolution"], error


def test_the_core_says_the_same() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec({"preset": "mobilenet_v2", "resolution": 0, "depht_multiplier": 2})
    assert sorted(caught.value.problems) == [
        (("depht_multiplier",), "unknown field 'depht_multiplier'; did you mean 'depth_multiplier'?"),
        (("resolution",), "Input should be greater than or equal to 1"),
    ]
