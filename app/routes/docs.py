"""GET /docs (Swagger UI) and GET /redoc: FastAPI's pages with their scripts, styles and icon served by the
service from ``static/vendor`` (npm's swagger-ui-dist and redoc, as package.json pins them), not from a CDN:
the container's home is often a GPU host with no way out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_VENDOR = "/static/vendor"


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    app = request.app
    return get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} - Swagger UI",
        oauth2_redirect_url="/docs/oauth2-redirect",
        swagger_js_url=f"{_VENDOR}/swagger-ui-bundle.js",
        swagger_css_url=f"{_VENDOR}/swagger-ui.css",
        swagger_favicon_url=f"{_VENDOR}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # Swagger UI's default validator is validator.swagger.io
    )


@router.get("/docs/oauth2-redirect")
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    app = request.app
    return get_redoc_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} - ReDoc",
        redoc_js_url=f"{_VENDOR}/redoc.standalone.js",
        redoc_favicon_url=f"{_VENDOR}/favicon-32x32.png",
        with_google_fonts=False,
    )
