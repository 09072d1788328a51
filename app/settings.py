"""All configuration in one place, from the environment (prefix ``PROFILER_``); the defaults are an
embedded configuration that runs as is."""

from __future__ import annotations

import ipaddress
import os
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Literal, get_args

from fastapi import Depends
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from profiler import Limits
from profiler.latency.runtimes import RuntimeName
from profiler.limits import DEFAULT_MAX_BODY_BYTES

ENV_PREFIX = "PROFILER_"


class Settings(BaseSettings, Limits):
    """The service's settings. The limits on one request are the core's ``Limits`` fields, taken as they are
    (``PROFILER_MAX_RESOLUTION``, ...: defaults, bounds and descriptions defined once, in the core)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=False, populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = 8000

    # Access: with api_token set, every request but /health needs "Authorization: Bearer <token>".
    api_token: str | None = Field(None, repr=False)
    # Serving beyond loopback without a token is refused at start, unless allowed here on purpose.
    allow_open: bool = False
    cors_origins: list[str] = Field(default_factory=list, description='e.g. ["https://dash.example.com"]')

    # Every result is kept here (SQLite, created on first start); in the container, a volume at /data.
    store_path: Path = Field(Path("data/profiles.sqlite3"), description="SQLite file of stored results")
    memory_results: int = Field(256, ge=0, description="answers to recent requests also held in memory")
    memory_results_bytes: int = Field(64 * 2**20, ge=0, description="bytes those answers may take in memory")
    # The store keeps its newest results within these bounds; the oldest are removed first.
    store_max_bytes: int = Field(2**30, ge=1, description="stored results (bodies and summaries), in bytes")
    store_max_age_days: float | None = Field(None, gt=0, description="results older than this are removed")
    store_max_result_share: float = Field(
        0.1, gt=0, le=1, description="share of store_max_bytes one result may take; a larger one is answered, not kept"
    )

    predictor_sample_bytes: int = Field(
        256 * 2**20, ge=1, description="latency predictors' samples kept in the store, in bytes (the oldest go first)"
    )
    max_calibration_s: float = Field(4 * 3600.0, gt=0, description="largest budget_s of POST /predictors")

    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1, description="largest request body (413 past it)")
    max_connections: int = Field(
        200, ge=1, description="open connections and requests in flight (python -m app); past it a request is a 503"
    )
    header_timeout_s: float = Field(
        10.0, gt=0, le=3600, description="a request's headers must arrive within this (python -m app), else closed"
    )
    body_timeout_s: float = Field(30.0, gt=0, le=3600, description="a request's body must arrive within this (408)")
    keep_alive_s: int = Field(5, ge=1, le=3600, description="an idle kept-alive connection is closed after this")
    max_json_depth: int = Field(32, ge=4, le=200, description="deepest nesting of a JSON body (422 past it)")

    # Timing runs in a child process per device, away from the server's interpreter (off: in a thread of the
    # server, which under counting load measured a CPU figure at 9.8x its quiet value; kept for comparison).
    timing_process: bool = True

    # Runtimes a request may ask for (latency.runtimes); torch.compile takes minutes of CPU per model.
    runtimes: list[RuntimeName] = Field(
        default_factory=lambda: list(get_args(RuntimeName)), min_length=1, description="runtimes offered"
    )

    # Timing: one measurement per device at a time, at most timing_queue_size waiting behind it (then 503).
    timing_queue_size: int = Field(4, ge=0)
    # A synchronous latency request gives up (and frees the device) after this long; jobs do not.
    sync_wait_s: float = Field(300.0, gt=0)
    max_jobs: int = Field(
        256,
        ge=1,
        description="jobs (latency profiles, latency sweeps) kept in memory; the oldest finished go first, and a new "
        "job is a 503 while every one is still running",
    )
    shutdown_grace_s: float = Field(
        20.0,
        ge=0,
        description="on SIGTERM, how long latency jobs in flight may run on (then they are cancelled); HTTP requests "
        "in flight always finish",
    )

    # Where measurements run: local (this host's devices, a timing process each) or ray (every device of a
    # Ray cluster, a timing actor each; needs pip install 'archprofiler[ray]').
    backend: Literal["local", "ray"] = "local"
    ray_address: str | None = Field(
        None,
        validation_alias=AliasChoices("RAY_ADDRESS", "PROFILER_RAY_ADDRESS"),
        description="the cluster to join (<head>:6379); unset: an embedded local Ray, started on first use",
    )
    ray_cpu_resource: str = Field(
        "cpu_bench", min_length=1, description="the custom resource that marks a node's CPU as a timing device"
    )
    ray_cpu_threads: int | None = Field(None, ge=1, description="torch threads of a timing actor (default: its CPUs)")
    ray_sweep_points: int = Field(
        8_000, ge=1, description="count-only sweeps with more points are split into Ray tasks over the cluster"
    )

    # Closed-form counts run in this many spawned processes (0: in the server's own threads); the server
    # waits for them on counting_threads threads, and further requests wait their turn without a thread.
    counting_processes: int = Field(1, ge=0)
    counting_threads: int = Field(2, ge=1)

    # Count-only sweeps split their points over this many spawned processes (started by the first sweep;
    # 0: in a server thread), one sweep at a time; each process may take sweep_memory_bytes.
    sweep_processes: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=0)
    sweep_memory_bytes: int = Field(2**30, ge=1)

    # fvcore traces a real forward: at most this many at once; others wait up to fvcore_wait_s, then 503.
    fvcore_concurrency: int = Field(1, ge=1)
    fvcore_wait_s: float = Field(30.0, ge=0)
    # ... each in a process of its own (started on first use, never the server's), stopped past this.
    fvcore_timeout_s: float = Field(60.0, gt=0)

    def refuse_open(self) -> str | None:
        """Why the server must not start as configured (listening beyond this host with no token), or None."""
        if self.api_token or self.allow_open:
            return None
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = self.host == "localhost"
        if loopback:
            return None
        return (
            f"refusing to serve on {self.host} without an API token: anyone who can reach this port could run "
            f"measurements and fill the store. Set {ENV_PREFIX}API_TOKEN (clients send 'Authorization: Bearer "
            f"<token>'), or {ENV_PREFIX}HOST=127.0.0.1, or {ENV_PREFIX}ALLOW_OPEN=1 to serve openly on purpose"
        )

    @cached_property
    def limits(self) -> Limits:
        """The limits as the core takes them (one object per settings, not one per request)."""
        return Limits(**{name: getattr(self, name) for name in Limits.model_fields})


@lru_cache
def get_settings() -> Settings:
    return Settings()


SettingsDep = Annotated[Settings, Depends(get_settings)]
