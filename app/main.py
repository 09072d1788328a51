"""Assemble the application: routers and error handlers."""

from __future__ import annotations

from fastapi import FastAPI

from . import errors
from .routes import health, presets, profile


def create_app() -> FastAPI:
    app = FastAPI(
        title="Architecture profiler",
        summary="Per-layer MACs, FLOPs, parameters and activations of mobile CNNs from a JSON spec.",
        version="0.1.0",
    )
    app.include_router(profile.router)
    app.include_router(presets.router)
    app.include_router(health.router)
    errors.install(app)
    return app


app = create_app()
