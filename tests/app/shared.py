"""One started app shared by the tests of a module: its start (a spawned counting process that imports torch) and
its first measurement (a timing process, the device's roofs) take seconds on a busy host, and most tests only
send requests to it. Each test gets it back as the one before found it: settings overrides and the timing queue
put back, no job left running."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

LIVENESS_S = 300  # only catches a hang


@contextmanager
def started(settings: Settings | None = None) -> Iterator[TestClient]:
    """A started app (its lifespan run), stopped on leaving: the fixture of a module's scope."""
    with TestClient(create_app(settings)) as client:
        yield client


@contextmanager
def handed_back(client: TestClient) -> Iterator[TestClient]:
    """``client`` for one test; after it, what a test may change is as it was, and every job has ended."""
    app = cast(FastAPI, client.app)
    overrides = dict(app.dependency_overrides)  # create_app(settings) puts its settings here
    queue_size = app.state.workers.queue_size
    try:
        yield client
    finally:
        app.dependency_overrides.clear()
        app.dependency_overrides.update(overrides)
        app.state.workers.queue_size = queue_size
        app.state.jobs.finish(0, LIVENESS_S)  # a job a test left running is cancelled and waited for
        workers = app.state.workers
        deadline = time.monotonic() + LIVENESS_S
        while any(workers.waiting(d["device"]) for d in workers.describe()):
            assert time.monotonic() < deadline, "a measurement outlived its test"
            time.sleep(0.05)
