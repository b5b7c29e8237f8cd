"""The one hook into uvicorn: its httptools protocol, with the connection's transport in the scope.

ASGI never exposes the socket, yet a TCP reset, a close without a response or
bytes that are not HTTP can only be produced on the socket itself. This
subclass adds ``scope["mockserver.transport"]`` and nothing else; the wire
layer (:mod:`mockserver.wire`) uses it for the socket faults and for clean
cuts. It relies on a uvicorn internal (``on_message_begin`` builds
``self.scope``), hence the exact uvicorn pin and the test that checks it.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

TRANSPORT_KEY = "mockserver.transport"


class TransportInScopeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus the connection's transport in every request's scope."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[TRANSPORT_KEY] = self.transport  # type: ignore[literal-required]
