"""Bounds on what a client may send: request bodies of at most `max_bytes`, arriving at a
reasonable pace.

A pure ASGI middleware, so a body is refused before it is read: a declared Content-Length over
the limit is answered 413 at once; a chunked body is counted as it arrives and cut off at the
limit (413); a client that stops sending in the middle of a body is cut off after
`chunk_timeout` seconds (408) instead of holding a worker. HEAD requests to GET pages are
answered as GET without a body (Starlette's routes answer them 405).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestLimits:
    def __init__(self, app: ASGIApp, *, max_bytes: int, chunk_timeout: float) -> None:
        self.app, self.max_bytes, self.chunk_timeout = app, max_bytes, chunk_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            await self._head(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _error(send, 413, "body_too_large", self._too_large())
            return
        received = 0
        responder: str | None = None  # "limits" or "app": whoever starts the one response

        async def refuse(status: int, code: str, message: str) -> Message:
            nonlocal responder
            if responder is None:
                responder = "limits"
                await _error(send, status, code, message)
            # The app sees a client that went away, and stops reading; what it would answer
            # is dropped below.
            return {"type": "http.disconnect"}

        async def limited_receive() -> Message:
            nonlocal received
            try:
                message = await asyncio.wait_for(receive(), timeout=self.chunk_timeout)
            except TimeoutError:
                return await refuse(408, "request_timeout", "the request body stopped arriving")
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    return await refuse(413, "body_too_large", self._too_large())
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal responder
            if message["type"] == "http.response.start" and responder is None:
                responder = "app"
            if responder == "app":
                await send(message)

        await self.app(scope, limited_receive, guarded_send)

    def _too_large(self) -> str:
        return f"request body larger than {self.max_bytes:,} bytes (TRADEPOINT_MAX_BODY_BYTES)"

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def no_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, no_body)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
