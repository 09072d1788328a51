"""``python -m app``: serve on the configured host and port (PROFILER_HOST, PROFILER_PORT)."""

import uvicorn

from .settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    uvicorn.run("app.main:app", host=settings.host, port=settings.port)
