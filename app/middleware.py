"""ASGI middleware: an optional API token, a limit on request body size (413 before it is read), a time limit
on reading it (408), and a check of JSON bodies that FastAPI's parser would take but no answer could carry."""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .settings import ENV_PREFIX


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_bytes:
                await self._refuse(send)  # before a byte of the body is read
            else:
                await self.app(scope, receive, send)  # the server reads no more than the declared length
            return
        # No length (chunked): read up to the limit here, then hand the app the body as one message. Refusing
        # inside the app would not do: the framework turns any error while reading a body into a 400.
        body = bytearray()
        try:
            async with asyncio.timeout(self.timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    body += message.get("body", b"")
                    if len(body) > self.max_bytes:
                        await self._refuse(send)
                        return
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _body_too_slow(send, self.timeout_s)
            return
        await self.app(scope, _replaying(bytes(body), receive), send)

    async def _refuse(self, send: Send) -> None:
        detail = (
            f"request body over {self.max_bytes:,} bytes; the server's operator can "
            f"raise it with {ENV_PREFIX}MAX_BODY_BYTES"
        )
        await _send_json(send, 413, {"detail": detail})


class JsonBodyCheck:
    """Reads each request's body within ``timeout_s`` (else a 408: a body that trickles in would hold a
    connection for ever), then refuses a JSON body that no answer could carry with a 422 in the shape of
    FastAPI's own ``json_invalid`` error: a lone surrogate (``"\\ud800"``: JSON allows it, UTF-8 has no bytes for
    it, so an answer echoing it could not be encoded) and nesting deeper than ``max_depth`` (no spec is half as
    deep; an encoder stops at a few hundred levels). Inside ``BodySizeLimit``, so the body it reads is bounded."""

    def __init__(self, app: ASGIApp, max_depth: int, timeout_s: float) -> None:
        self.app = app
        self.max_depth = max_depth
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        try:
            async with asyncio.timeout(self.timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _body_too_slow(send, self.timeout_s)
            return
        body = b"".join(chunks)
        content_type = dict(scope.get("headers", ())).get(b"content-type", b"application/json")
        problem = self._problem(body) if body and b"json" in content_type else None
        if problem is not None:
            await _send_json(send, 422, {"detail": [problem]})
            return
        await self.app(scope, _replaying(body, receive), send)

    def _problem(self, body: bytes) -> dict[str, Any] | None:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            if "surrogate" not in str(exc):
                return None  # any other syntax error is FastAPI's to answer, as it always has
            error = f"{exc.msg}: a lone UTF-16 surrogate (\\ud800-\\udfff) is no character; send valid Unicode"
            return {
                "type": "json_invalid",
                "loc": ["body", exc.pos],
                "msg": "JSON decode error",
                "ctx": {"error": error},
            }
        stack = [(data, 1)]
        while stack:
            value, depth = stack.pop()
            if depth > self.max_depth:
                msg = f"JSON nested deeper than {self.max_depth} levels; no field of this API needs that many"
                return {"type": "json_invalid", "loc": ["body"], "msg": "JSON decode error", "ctx": {"error": msg}}
            children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
            stack.extend((child, depth + 1) for child in children)
        return None


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, as one message, then the connection's own."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _body_too_slow(send: Send, timeout_s: float) -> None:
    msg = f"the request body took over {timeout_s:g} s to arrive ({ENV_PREFIX}BODY_TIMEOUT_S)"
    await _send_json(send, 408, {"detail": msg}, [(b"connection", b"close")])


async def _send_json(
    send: Send, status: int, content: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(content).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequireToken:
    """With a token configured, every request except ``/health`` and the dashboard's static page must carry it
    as a bearer token (the page holds no data; it asks for the token and sends it with each API call)."""

    OPEN_PATHS = ("/health", "/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")  # no data in them
    OPEN_PREFIXES = ("/static/",)

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or path in self.OPEN_PATHS
            or path.startswith(self.OPEN_PREFIXES)
            or scope["method"] == "OPTIONS"
        ):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"detail": "missing or wrong API token: send 'Authorization: Bearer <token>'"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
            }
        )
        await send({"type": "http.response.body", "body": body})
