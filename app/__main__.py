"""``python -m app``: serve on the configured host and port (PROFILER_HOST, PROFILER_PORT)."""

import sys

import uvicorn

from profiler.cluster import require_ray

from .http_protocol import bounded_protocol
from .settings import get_settings
from .store import ResultStore, StoreUnavailable

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
    store = ResultStore(settings.store_path)
    try:  # the lifespan checks again (for other servers); here a clear message, not a traceback
        store.open()
        store.check_writable()
    except StoreUnavailable as exc:
        print(f"error: {exc}; set PROFILER_STORE_PATH to a writable file", file=sys.stderr)
        sys.exit(2)
    finally:
        store.close()
    uvicorn.run(
        "app.main:app",
        host=settings.host,
        port=settings.port,
        http=bounded_protocol(settings.header_timeout_s),
        limit_concurrency=settings.max_connections,  # past it, a new request is answered 503 at once
        timeout_keep_alive=settings.keep_alive_s,
    )
