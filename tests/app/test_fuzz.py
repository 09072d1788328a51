"""Schemathesis against the service's own OpenAPI schema: no server errors, responses that keep to it,
and data the schema forbids is refused. A schema-valid spec may still be refused (a kernel larger than its
feature map, a limit passed): the schema cannot say that, so positive-data acceptance is not checked."""

from __future__ import annotations

from collections import Counter

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import allow_header_conformance, positive_data_acceptance

from app.main import create_app
from app.settings import Settings

# Small limits so generated specs stay cheap; every refusal is still a 4xx to check.
APP = create_app(
    Settings(
        max_resolution=512,
        max_batch=8,
        max_budget_s=0.3,
        sync_wait_s=300,  # a liveness ceiling: a busy host must not turn a slow answer into a 504
        max_activation_bytes=64 * 2**20,
        max_timing_bytes=256 * 2**20,
        fvcore_wait_s=5,
        runtimes=["eager", "onnxruntime"],  # torch.compile would take minutes a case
    )
)
# Schemathesis's coverage phase sends every boundary and negative variant of a body's fields: for a model spec, some
# 2,700 requests, 600 of them accepted. POST /export/onnx takes the very body POST /profile does (ProfileRequest),
# which gets them all; there each accepted variant is an ONNX export (three and a half minutes), so it gets the
# examples and the generated cases only.
CONFIG = SchemathesisConfig.from_dict(
    {
        "request-timeout": 300,  # schemathesis's 10 s is not a liveness ceiling: the first sweep spawns processes
        "operations": [{"include-path": "/export/onnx", "phases": {"coverage": {"enabled": False}}}],
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)


SENT: Counter[str] = Counter()  # requests per method and path (other methods than the documented ones too)


@schema.parametrize()
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_api(case) -> None:
    # Starlette's 405 names the methods of the first route on a path only (GET /jobs/{id}, not DELETE).
    case.call_and_validate(excluded_checks=[positive_data_acceptance, allow_header_conformance])
    SENT[f"{case.method} {case.path}"] += 1


def test_at_least_a_thousand_requests_were_sent() -> None:
    operations = {f"{op.method.upper()} {op.path}" for op in (result.ok() for result in schema.get_all_operations())}
    assert operations <= set(SENT), f"operations the fuzz never reached: {operations - set(SENT)}"
    assert sum(SENT.values()) >= 1000, dict(SENT)
