"""The HTTP edge's own bounds, beside uvicorn's connection cap (``limit_concurrency``): a request's headers must
arrive within ``header_timeout_s`` of its first byte (or of the connection's opening), else the connection is
closed. uvicorn bounds an idle kept-alive connection but not one that trickles a request's headers a byte at a
time ("slowloris"), which would hold a connection, and a slot under the cap, for ever. The body's own timeout
is the middleware's (``app.middleware.BodySizeLimit``), where the body is read."""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["bounded_protocol"]


class _HeaderTimeout(HttpToolsProtocol):
    header_timeout_s = 10.0
    _header_timer: asyncio.TimerHandle | None = None
    _awaiting_headers = True  # between requests: the next bytes start a request whose headers are timed

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers:
            self._arm()  # no-op when armed: the clock runs from the request's first byte
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._awaiting_headers = True  # a kept-alive connection: uvicorn's keep-alive timeout bounds its idling

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.logger.info("closing a connection whose request headers took over %g s", self.header_timeout_s)
            self.transport.close()


def bounded_protocol(header_timeout_s: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with the header timeout (``uvicorn.run(..., http=bounded_protocol(10))``)."""
    return type("BoundedHttpProtocol", (_HeaderTimeout,), {"header_timeout_s": header_timeout_s})
