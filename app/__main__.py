"""``python -m app``: serve on the configured host and port (PROFILER_HOST, PROFILER_PORT)."""

import sys

import uvicorn

from profiler.cluster import require_ray

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
    uvicorn.run("app.main:app", host=settings.host, port=settings.port)
