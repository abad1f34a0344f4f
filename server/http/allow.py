"""``OPTIONS`` answers with every method of the path in ``Allow``.

Litestar builds the automatic OPTIONS handler when the first handler of a path is registered and does not
update it when handlers for other methods join the same path, so without this a path served by GET and POST
would advertise only one of them.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send


class AllowHeaderMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") != "OPTIONS":
            await next_app(scope, receive, send)
            return
        method_map = scope["litestar_app"].route_handler_method_map
        methods = {"OPTIONS"}
        for path in scope["route_handler"].paths:
            methods.update(m for m in method_map.get(path, {}) if m.isupper())

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)["allow"] = ", ".join(sorted(methods))
            await send(message)

        await next_app(scope, receive, send_with_allow)
