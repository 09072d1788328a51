"""``python -m app``: serve on the configured host and port (PROFILER_HOST, PROFILER_PORT)."""

import sys

import uvicorn

from profiler.cluster import require_ray

from .http_protocol import bounded_protocol
from .settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    if (reason := settings.refuse_open()) is not None:
        print(f"error: {reason}", file=sys.stderr)
        sys.exit(2)
    if settings.backend == "ray":
        try:
            require_ray()
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
    uvicorn.run(
        "app.main:app",
        host=settings.host,
        port=settings.port,
        http=bounded_protocol(settings.header_timeout_s),
        limit_concurrency=settings.max_connections,  # past it, a new request is answered 503 at once
        timeout_keep_alive=settings.keep_alive_s,
    )
