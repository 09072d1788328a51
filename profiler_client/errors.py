"""What the client raises: the server's refusals as typed exceptions that carry its message (``detail``)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "BadRequest",
    "JobCancelled",
    "JobFailed",
    "NotFound",
    "PayloadTooLarge",
    "ProfilerClientError",
    "ProtocolError",
    "ServerError",
    "ServerUnavailable",
    "ServerUnreachable",
    "SpecRejected",
    "Unauthorized",
    "WaitTimeout",
]


class ProfilerClientError(Exception):
    """Anything the client raises."""


class ServerUnreachable(ProfilerClientError):
    """No answer at all: the server is down, the address is wrong, or the network dropped the request."""


class WaitTimeout(ProfilerClientError):
    """A job was still running when ``wait`` gave up (the job itself goes on; ``cancel`` stops it)."""


class ProtocolError(ProfilerClientError):
    """An answer the client cannot read: not JSON, or JSON of another shape than the route's (a proxy's page,
    another service on that port). ``status`` and the start of the body (``excerpt``) say what came back."""

    def __init__(self, status: int, excerpt: str, method: str = "", path: str = "", why: str = "") -> None:
        self.status = status
        self.excerpt = excerpt
        super().__init__(f"{method} {path}: {status}: {why or 'an answer that is not JSON'}: {excerpt!r}")


class ServerError(ProfilerClientError):
    """The server answered with an error: ``status``, and ``detail`` as it sent it (a message, or a list of
    ``{loc, msg}`` problems for a 422)."""

    def __init__(self, status: int, detail: Any, method: str = "", path: str = "") -> None:
        self.status = status
        self.detail = detail
        self.method = method
        self.path = path
        super().__init__(f"{method} {path}: {status}: {self.message}".lstrip(": "))

    @property
    def message(self) -> str:
        """``detail`` as one line: a 422's problems as ``loc: msg``, separated by ``; ``."""
        if isinstance(self.detail, list):
            return "; ".join(f"{loc}: {msg}" for loc, msg in _problems(self.detail))
        return str(self.detail)


def _problems(detail: list[Any]) -> list[tuple[str, str]]:
    """A 422's ``detail`` as ``(loc, msg)``: ``loc`` dotted, without FastAPI's leading ``body``."""
    out = []
    for problem in detail:
        if not isinstance(problem, dict):
            out.append(("request", str(problem)))
            continue
        loc = ".".join(str(part) for part in problem.get("loc", []) if part != "body")
        out.append((loc or "request", str(problem.get("msg", ""))))
    return out


class BadRequest(ServerError):
    """400: the body is not JSON."""


class Unauthorized(ServerError):
    """401: missing or wrong token (``token=`` of the client, the server's PROFILER_API_TOKEN)."""


class NotFound(ServerError):
    """404: no such stored result, job, sweep or preset."""


class PayloadTooLarge(ServerError):
    """413: the body is over the server's PROFILER_MAX_BODY_BYTES."""


class SpecRejected(ServerError):
    """422: a spec that cannot be built, an option out of range, a device the server lacks, a limit passed.
    ``problems``: each ``(loc, msg)``, ``loc`` in the request's terms (``stages.3.c``)."""

    @property
    def problems(self) -> list[tuple[str, str]]:
        return _problems(self.detail) if isinstance(self.detail, list) else [("request", str(self.detail))]


class ServerUnavailable(ServerError):
    """503 still, after the client's retries (a device's queue full, a counting process replaced, the cluster
    unreachable): ``retry_after_s`` is the server's last hint."""

    def __init__(self, status: int, detail: Any, method: str = "", path: str = "", retry_after_s: float = 0) -> None:
        super().__init__(status, detail, method, path)
        self.retry_after_s = retry_after_s


class JobFailed(ProfilerClientError):
    """A job ended ``failed``: ``status`` is its last status, with each device's error."""

    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status
        report = status.get("report") or {}
        errors = [str(e["error"]) for e in report.get("latency") or [] if isinstance(e, dict) and e.get("error")]
        super().__init__(f"job {status.get('id')} failed: {'; '.join(errors) or status.get('state')}")


class JobCancelled(ProfilerClientError):
    """A job ended ``cancelled`` (by ``cancel``, by another client, or by the server stopping)."""

    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status
        super().__init__(f"job {status.get('id')} was cancelled")


BY_STATUS: dict[int, type[ServerError]] = {
    400: BadRequest,
    401: Unauthorized,
    404: NotFound,
    413: PayloadTooLarge,
    422: SpecRejected,
}
