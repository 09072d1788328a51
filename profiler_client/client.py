"""The service's API from Python, over httpx: ``ProfilerClient`` (blocking) and ``AsyncProfilerClient`` (asyncio),
the same methods with the same arguments.

Bodies are the API's own JSON, as dicts: a spec (a preset with overrides, or a whole table), and a profile's
options beside it. Answers are the API's JSON too. A refusal raises the typed ``ServerError`` for its status
with the server's message; a 503 (a device's queue full, a process being replaced) is sent again after the
server's ``Retry-After``, a few times, before ``ServerUnavailable`` is raised.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal, TypedDict

import httpx

from .errors import (
    BY_STATUS,
    JobCancelled,
    JobFailed,
    ProtocolError,
    ServerError,
    ServerUnavailable,
    ServerUnreachable,
    WaitTimeout,
)

__all__ = ["DEFAULT_URL", "AsyncProfilerClient", "JobStatus", "ProfilerClient", "ResultPage", "profile_body"]

DEFAULT_URL = "http://127.0.0.1:8000"
Json = dict[str, Any]
Kind = Literal["profile", "compare", "sweep"]


class JobStatus(TypedDict, total=False):
    """``GET /jobs/{id}``: a profile job's devices (steps done of total), or a sweep's points measured."""

    id: str
    kind: str
    state: str  # queued, running, cancelling, then done, failed or cancelled
    elapsed_s: float
    devices: list[Json]
    points_measured: int
    points_to_measure: int
    report: Json  # once done
    store_error: str


class ResultPage(TypedDict):
    """``GET /profiles``: one page of stored results, newest first."""

    total: int
    limit: int
    offset: int
    items: list[Json]


Progress = Callable[[JobStatus], object]
_FINAL = {"done", "failed", "cancelled"}


def profile_body(spec: Json | None = None, **fields: Any) -> Json:
    """A ``POST /profile`` body: ``spec`` (a body the API takes, or the answer of ``GET /presets/{name}``) with
    ``fields`` set over it; fields given as None are left out (the server's defaults)."""
    body = dict(spec or {})
    if "citation" in body and isinstance(body.get("spec"), dict):  # GET /presets/{name}: its table
        body = dict(body["spec"])
    body.update({k: v for k, v in fields.items() if v is not None})
    return body


def _sweep_body(base: Json, grid: dict[str, list[Any]] | None, points: list[Json] | None, **fields: Any) -> Json:
    return profile_body({"base": profile_body(base), "grid": grid or {}, "points": points or []}, **fields)


def _progress_of(status: Any) -> Any:
    """A job status without its clocks (``elapsed_s`` and other seconds): what says it moved on."""
    if isinstance(status, dict):
        return {k: _progress_of(v) for k, v in status.items() if not k.endswith("_s")}
    if isinstance(status, list):
        return [_progress_of(v) for v in status]
    return status


def _retry_after_s(response: httpx.Response, cap_s: float) -> float:
    """The server's Retry-After (seconds or an HTTP date), within [0.1, cap_s]; 1 s when it cannot be read."""
    value = response.headers.get("retry-after", "1")
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, OverflowError, IndexError):
            seconds = 1.0
    if not math.isfinite(seconds):
        seconds = 1.0
    return min(max(seconds, 0.1), cap_s)


def _body(response: httpx.Response, method: str, path: str) -> Any:
    """The answer's JSON, or ProtocolError with its status and the start of what came instead."""
    try:
        return response.json()
    except ValueError:  # not JSON, or not UTF-8
        raise ProtocolError(response.status_code, response.text[:200], method, path) from None


def _job_id(response: httpx.Response, method: str, path: str) -> str:
    body = _body(response, method, path)
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise ProtocolError(response.status_code, response.text[:200], method, path, "a 202 without a job id")
    return body["id"]


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text or response.reason_phrase
    return body.get("detail", body) if isinstance(body, dict) else body


def _checked(response: httpx.Response, method: str, path: str, retry_after_s: float) -> httpx.Response:
    status = response.status_code
    if status < 400:
        return response
    if status == 503:
        raise ServerUnavailable(status, _detail(response), method, path, retry_after_s)
    raise BY_STATUS.get(status, ServerError)(status, _detail(response), method, path)


def _page_params(**given: Any) -> Json:
    return {k: v for k, v in given.items() if v is not None}


def _job_status(body: Any, path: str) -> JobStatus:
    if not isinstance(body, dict) or not isinstance(body.get("state"), str):
        raise ProtocolError(200, str(body)[:200], "GET", path, "a job status without a state")
    return body  # type: ignore[return-value]


def _final(status: JobStatus) -> Json:
    if status["state"] == "cancelled":
        raise JobCancelled(dict(status))
    if status["state"] == "failed":
        raise JobFailed(dict(status))
    return status.get("report") or {}


def _latency_job(latency: Json | None) -> Json:
    if latency is None:
        raise ValueError("latency is required: the devices to measure on, e.g. {'devices': ['cuda']}")
    return {**latency, "job": True}


class _Settings:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        timeout_s: float,
        retries: int,
        max_retry_wait_s: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        # A synchronous latency request may take the server's PROFILER_SYNC_WAIT_S (300 s by default).
        self.timeout = httpx.Timeout(timeout_s, connect=10.0)
        self.retries = retries
        self.max_retry_wait_s = max_retry_wait_s


class ProfilerClient:
    """The API over a blocking ``httpx.Client``; use it in a ``with`` block, or ``close()`` it.

    ``token``: the server's PROFILER_API_TOKEN, when it has one. ``retries``: how often a 503 is sent again,
    each after the server's Retry-After (at most ``max_retry_wait_s``). ``transport``: httpx's, for tests."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout_s: float = 330.0,
        retries: int = 3,
        max_retry_wait_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = _Settings(base_url, token, timeout_s, retries, max_retry_wait_s)
        s = self.settings
        self._http = httpx.Client(base_url=s.base_url, headers=s.headers, timeout=s.timeout, transport=transport)

    def __enter__(self) -> ProfilerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.settings.retries + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                raise ServerUnreachable(f"{method} {self.settings.base_url}{path}: {exc!r}") from exc
            wait_s = _retry_after_s(response, self.settings.max_retry_wait_s)
            if response.status_code == 503 and attempt < self.settings.retries:
                time.sleep(wait_s)
                continue
            return _checked(response, method, path, wait_s)
        raise AssertionError("unreachable")

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return _body(self._send(method, path, **kwargs), method, path)

    # ---- the service ----

    def health(self) -> Json:
        return self._json("GET", "/health")

    def devices(self) -> list[Json]:
        """What the server can time on (``GET /devices``)."""
        return self._json("GET", "/devices")

    def presets(self) -> list[Json]:
        return self._json("GET", "/presets")

    def preset(self, name: str) -> Json:
        """A paper's table, ``{name, citation, spec}``; ``profile(client.preset(name))`` profiles it."""
        return self._json("GET", f"/presets/{name}")

    # ---- profiles, comparisons, sweeps ----

    def profile(
        self,
        spec: Json | None = None,
        /,
        *,
        batch_size: int | None = None,
        counter: str | None = None,
        latency: Json | None = None,
        memory: Json | None = None,
        **fields: Any,
    ) -> Json:
        """``POST /profile``: the report, with latency measured when ``latency`` names devices (the call then
        lasts the measurement; ``submit_profile`` runs it as a job); ``memory`` sets how activation memory is
        figured (``{"dtype": "int8", "inplace_depthwise": True, "budget_bytes": 262144}``). ``fields`` override
        the spec's."""
        body = profile_body(spec, batch_size=batch_size, counter=counter, latency=latency, memory=memory, **fields)
        return self._json("POST", "/profile", json=body)

    def submit_profile(
        self, spec: Json | None = None, /, *, latency: Json | None = None, batch_size: int | None = None, **fields: Any
    ) -> JobStatus:
        """A latency measurement as a job: its status at once (``wait(status['id'])`` for the report)."""
        body = profile_body(spec, batch_size=batch_size, latency=_latency_job(latency), **fields)
        return self._json("POST", "/profile", json=body)

    def compare(
        self,
        a: Json,
        b: Json,
        *,
        batch_size: int = 1,
        counter: str = "shapes",
        align: str = "auto",
        latency: Json | None = None,
    ) -> Json:
        """``POST /compare``: both reports, the ratios b/a, the layers aligned (by name or by role); with
        ``latency`` (devices, runtimes, budget), A measured against B: ``b_over_a``, its ``ci95``, a verdict."""
        body = {"a": profile_body(a), "b": profile_body(b), "batch_size": batch_size, "counter": counter}
        extra = {"latency": latency} if latency else {}
        return self._json("POST", "/compare", json={**body, "align": align, **extra})

    def sweep(
        self,
        base: Json,
        grid: dict[str, list[Any]] | None = None,
        points: list[Json] | None = None,
        *,
        batch_size: int | None = None,
        layers: bool | None = None,
        memory: Json | None = None,
        latency: Json | None = None,
        progress: Progress | None = None,
        timeout_s: float | None = None,
    ) -> Json:
        """``POST /sweep``: every point's totals and the Pareto front. With ``latency``, the points are measured
        as a job; this waits for it (``progress`` sees each status) and returns the sweep."""
        body = _sweep_body(base, grid, points, batch_size=batch_size, layers=layers, latency=latency, memory=memory)
        response = self._send("POST", "/sweep", json=body)
        if response.status_code != 202:
            return _body(response, "POST", "/sweep")
        return self.wait(_job_id(response, "POST", "/sweep"), progress=progress, timeout_s=timeout_s)

    def submit_sweep(
        self,
        base: Json,
        grid: dict[str, list[Any]] | None = None,
        points: list[Json] | None = None,
        *,
        latency: Json | None = None,
        batch_size: int | None = None,
        layers: bool | None = None,
        memory: Json | None = None,
    ) -> JobStatus:
        """A measured sweep as a job: its status at once."""
        if latency is None:
            raise ValueError("a sweep runs as a job only with latency; sweep() answers a count-only one")
        body = _sweep_body(base, grid, points, batch_size=batch_size, layers=layers, latency=latency, memory=memory)
        return self._json("POST", "/sweep", json=body)

    # ---- jobs ----

    # ---- latency predictors ----

    def calibrate(
        self, device: str = "cpu", runtime: str = "eager", *, budget_s: float = 900, **options: Any
    ) -> JobStatus:
        """``POST /predictors``: a calibration job (``wait(status['id'])``); then ``latency={"predict": True}``
        on profile, compare and sweep answers from the predictor it fits."""
        body = {"device": device, "runtime": runtime, "budget_s": budget_s, **options}
        return self._json("POST", "/predictors", json=body)

    def predictors(self) -> Json:
        """``GET /predictors``: each predictor with its held-out accuracy, and the samples stored."""
        return self._json("GET", "/predictors")

    def predictor(self, predictor_id: str) -> Json:
        """One predictor, with its held-out designs' measured and predicted latency."""
        return self._json("GET", f"/predictors/{predictor_id}")

    def job(self, job_id: str) -> JobStatus:
        return _job_status(self._json("GET", f"/jobs/{job_id}"), f"/jobs/{job_id}")

    def cancel(self, job_id: str) -> JobStatus:
        """Stop a job: a running measurement stops at its next check; nothing of it is stored."""
        return self._json("DELETE", f"/jobs/{job_id}")

    def wait(
        self, job_id: str, *, progress: Progress | None = None, poll_s: float = 0.5, timeout_s: float | None = None
    ) -> Json:
        """Poll a job until it ends; ``progress(status)`` when a poll finds it moved on (its state, steps or
        points; not the clock alone). Its report when done; JobFailed or JobCancelled otherwise; WaitTimeout after
        ``timeout_s`` (the job goes on)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        seen = None
        while True:
            status = self.job(job_id)
            if progress is not None and (now := _progress_of(status)) != seen:
                seen = now
                progress(status)
            if status["state"] in _FINAL:
                return _final(status)
            if deadline is not None and time.monotonic() > deadline:
                raise WaitTimeout(f"job {job_id} still {status['state']} after {timeout_s:g} s")
            time.sleep(poll_s)

    # ---- stored results ----

    def results(
        self, *, name: str | None = None, kind: Kind | None = None, limit: int = 20, offset: int = 0
    ) -> ResultPage:
        """One page of stored results, newest first; ``name`` matches part of the name, any case."""
        params = {
            k: v for k, v in {"name": name, "kind": kind, "limit": limit, "offset": offset}.items() if v is not None
        }
        return self._json("GET", "/profiles", params=params)

    def iter_results(self, *, name: str | None = None, kind: Kind | None = None, page: int = 100) -> Iterator[Json]:
        """Every stored result's summary, page after page."""
        offset = 0
        while True:
            items = self.results(name=name, kind=kind, limit=page, offset=offset)["items"]
            yield from items
            if len(items) < page:
                return
            offset += len(items)

    def result(self, result_id: str) -> Json:
        """A stored result as it was answered (a profile, a comparison or a sweep)."""
        return self._json("GET", f"/profiles/{result_id}")

    def result_csv(self, result_id: str) -> str:
        """Its per-layer CSV (a comparison: both sides' rows; a sweep: one row per point)."""
        return self._send("GET", f"/profiles/{result_id}/layers.csv").text

    def export_onnx(self, spec: Json | None = None, /, *, batch_size: int | None = None, **fields: Any) -> bytes:
        """``POST /export/onnx``: the spec's model as an ONNX file (its bytes), node names carrying its layers."""
        body = profile_body(spec, batch_size=batch_size, **fields)
        return self._send("POST", "/export/onnx", json=body).content

    def result_onnx(self, result_id: str) -> bytes:
        """``GET /profiles/{id}/model.onnx``: a stored profile's model as an ONNX file."""
        return self._send("GET", f"/profiles/{result_id}/model.onnx").content

    def delete_result(self, result_id: str) -> None:
        self._send("DELETE", f"/profiles/{result_id}")


class AsyncProfilerClient:
    """``ProfilerClient``'s methods, awaited, over an ``httpx.AsyncClient``; use it in an ``async with`` block,
    or ``await aclose()``."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout_s: float = 330.0,
        retries: int = 3,
        max_retry_wait_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = _Settings(base_url, token, timeout_s, retries, max_retry_wait_s)
        s = self.settings
        self._http = httpx.AsyncClient(base_url=s.base_url, headers=s.headers, timeout=s.timeout, transport=transport)

    async def __aenter__(self) -> AsyncProfilerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.settings.retries + 1):
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                raise ServerUnreachable(f"{method} {self.settings.base_url}{path}: {exc!r}") from exc
            wait_s = _retry_after_s(response, self.settings.max_retry_wait_s)
            if response.status_code == 503 and attempt < self.settings.retries:
                await asyncio.sleep(wait_s)
                continue
            return _checked(response, method, path, wait_s)
        raise AssertionError("unreachable")

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return _body(await self._send(method, path, **kwargs), method, path)

    async def health(self) -> Json:
        return await self._json("GET", "/health")

    async def devices(self) -> list[Json]:
        return await self._json("GET", "/devices")

    async def presets(self) -> list[Json]:
        return await self._json("GET", "/presets")

    async def preset(self, name: str) -> Json:
        return await self._json("GET", f"/presets/{name}")

    async def profile(
        self,
        spec: Json | None = None,
        /,
        *,
        batch_size: int | None = None,
        counter: str | None = None,
        latency: Json | None = None,
        memory: Json | None = None,
        **fields: Any,
    ) -> Json:
        body = profile_body(spec, batch_size=batch_size, counter=counter, latency=latency, memory=memory, **fields)
        return await self._json("POST", "/profile", json=body)

    async def submit_profile(
        self, spec: Json | None = None, /, *, latency: Json | None = None, batch_size: int | None = None, **fields: Any
    ) -> JobStatus:
        body = profile_body(spec, batch_size=batch_size, latency=_latency_job(latency), **fields)
        return await self._json("POST", "/profile", json=body)

    async def compare(
        self,
        a: Json,
        b: Json,
        *,
        batch_size: int = 1,
        counter: str = "shapes",
        align: str = "auto",
        latency: Json | None = None,
    ) -> Json:
        body = {"a": profile_body(a), "b": profile_body(b), "batch_size": batch_size, "counter": counter}
        extra = {"latency": latency} if latency else {}
        return await self._json("POST", "/compare", json={**body, "align": align, **extra})

    async def sweep(
        self,
        base: Json,
        grid: dict[str, list[Any]] | None = None,
        points: list[Json] | None = None,
        *,
        batch_size: int | None = None,
        layers: bool | None = None,
        memory: Json | None = None,
        latency: Json | None = None,
        progress: Progress | None = None,
        timeout_s: float | None = None,
    ) -> Json:
        body = _sweep_body(base, grid, points, batch_size=batch_size, layers=layers, latency=latency, memory=memory)
        response = await self._send("POST", "/sweep", json=body)
        if response.status_code != 202:
            return _body(response, "POST", "/sweep")
        return await self.wait(_job_id(response, "POST", "/sweep"), progress=progress, timeout_s=timeout_s)

    async def submit_sweep(
        self,
        base: Json,
        grid: dict[str, list[Any]] | None = None,
        points: list[Json] | None = None,
        *,
        latency: Json | None = None,
        batch_size: int | None = None,
        layers: bool | None = None,
        memory: Json | None = None,
    ) -> JobStatus:
        if latency is None:
            raise ValueError("a sweep runs as a job only with latency; sweep() answers a count-only one")
        body = _sweep_body(base, grid, points, batch_size=batch_size, layers=layers, latency=latency, memory=memory)
        return await self._json("POST", "/sweep", json=body)

    async def job(self, job_id: str) -> JobStatus:
        return _job_status(await self._json("GET", f"/jobs/{job_id}"), f"/jobs/{job_id}")

    async def cancel(self, job_id: str) -> JobStatus:
        return await self._json("DELETE", f"/jobs/{job_id}")

    async def wait(
        self, job_id: str, *, progress: Progress | None = None, poll_s: float = 0.5, timeout_s: float | None = None
    ) -> Json:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        seen = None
        while True:
            status = await self.job(job_id)
            if progress is not None and (now := _progress_of(status)) != seen:
                seen = now
                progress(status)
            if status["state"] in _FINAL:
                return _final(status)
            if deadline is not None and time.monotonic() > deadline:
                raise WaitTimeout(f"job {job_id} still {status['state']} after {timeout_s:g} s")
            await asyncio.sleep(poll_s)

    async def results(
        self, *, name: str | None = None, kind: Kind | None = None, limit: int = 20, offset: int = 0
    ) -> ResultPage:
        params = {
            k: v for k, v in {"name": name, "kind": kind, "limit": limit, "offset": offset}.items() if v is not None
        }
        return await self._json("GET", "/profiles", params=params)

    async def iter_results(
        self, *, name: str | None = None, kind: Kind | None = None, page: int = 100
    ) -> AsyncIterator[Json]:
        offset = 0
        while True:
            items = (await self.results(name=name, kind=kind, limit=page, offset=offset))["items"]
            for item in items:
                yield item
            if len(items) < page:
                return
            offset += len(items)

    async def result(self, result_id: str) -> Json:
        return await self._json("GET", f"/profiles/{result_id}")

    async def result_csv(self, result_id: str) -> str:
        return (await self._send("GET", f"/profiles/{result_id}/layers.csv")).text

    async def export_onnx(self, spec: Json | None = None, /, *, batch_size: int | None = None, **fields: Any) -> bytes:
        body = profile_body(spec, batch_size=batch_size, **fields)
        return (await self._send("POST", "/export/onnx", json=body)).content

    async def result_onnx(self, result_id: str) -> bytes:
        return (await self._send("GET", f"/profiles/{result_id}/model.onnx")).content

    async def delete_result(self, result_id: str) -> None:
        await self._send("DELETE", f"/profiles/{result_id}")
