"""``python -m app``: serve on the configured host and port (PROFILER_HOST, PROFILER_PORT)."""

import sys

import uvicorn

from .settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    if (reason := settings.refuse_open()) is not None:
        print(f"error: {reason}", file=sys.stderr)
        sys.exit(2)
    uvicorn.run("app.main:app", host=settings.host, port=settings.port)
