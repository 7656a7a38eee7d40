"""Request guards before any route: NUL characters are refused everywhere.

PostgreSQL text cannot hold NUL, so one sent in a form field, a query string or a JSON string
would otherwise fail deep in a write as a 500. Here it is a 400 with a reason, whatever the
route. Only form and JSON bodies are read (buffered up to ``limit`` bytes, then replayed to the
app); other bodies pass untouched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubbub.web.problems import problem

_CHECKED_BODIES = (b"application/x-www-form-urlencoded", b"application/json")
_NUL = (b"%00", b"\\u0000")


class RefuseNul:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b""):
            await problem(400, "NUL characters are not accepted")(scope, receive, send)
            return
        content_type = dict(scope.get("headers", ())).get(b"content-type", b"").lower()
        if not content_type.startswith(_CHECKED_BODIES):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app sees the disconnect below
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                await problem(413, f"request body over {self.limit} bytes")(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if any(marker in body for marker in _NUL) or b"\x00" in body:
            await problem(400, "NUL characters are not accepted")(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
