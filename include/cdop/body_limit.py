"""A bound on request bodies, enforced while they arrive: plain ASGI middleware for the
portal and the operations pages.

A route's own checks (a form's size, a file's) run only after the body has been read in
full, and a chunked request says no length up front: without this, anyone could make a
server read (and spool to disk) hundreds of megabytes before being refused. Here a
declared Content-Length over the limit is refused before any of the body is read, and a
body without one is counted as it arrives: past the limit the app is stopped (its next
read raises) and the client gets 413 -- the server has read at most the limit plus the
one chunk that crossed it. Uvicorn then closes the connection rather than read the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# (scope, status) -> an ASGI response (a Starlette Response is one): the refusal's page.
Refusal = Callable[[Scope, int], ASGIApp]


class BodyTooLarge(Exception):
    """Raised into the app from `receive` once the body has passed the limit."""


def too_large(exc: BaseException) -> bool:
    """Whether `exc` is (or a task group's exception holds) BodyTooLarge: an app's own
    error handling lets it through to BodyLimit."""
    if isinstance(exc, BaseExceptionGroup):
        return exc.subgroup(BodyTooLarge) is not None
    return isinstance(exc, BodyTooLarge)


class BodyLimit:
    def __init__(self, app: ASGIApp, *, limit: int, refuse: Refusal):
        self.app = app
        self.limit = limit
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = [v for k, v in scope.get("headers", ()) if k.lower() == b"content-length"]
        if declared:
            text = declared[0].decode("latin-1").strip()
            if len(declared) > 1 or not text.isdigit():
                return await self.refuse(scope, 400)(scope, receive, send)
            if int(text) > self.limit:
                return await self.refuse(scope, 413)(scope, receive, send)

        received = 0
        over = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, over
            if over:
                raise BodyTooLarge()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                return  # whatever the app made of the refusal (an error page) is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not over:
                raise
        if over and not started:
            await self.refuse(scope, 413)(scope, receive, send)
