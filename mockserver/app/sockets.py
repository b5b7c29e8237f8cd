"""The WebSocket counterpart of the pipeline: one session with a socket endpoint (the Realtime API's
``/v1/realtime``), from the upgrade to the close.

The key comes as ``Authorization: Bearer`` or, from a browser, as the subprotocol ``openai-insecure-api-key.<key>``;
a key the family minted itself (the Realtime API's ephemeral ``ek_`` secrets, while they last) is taken whatever
``--api-key`` says, others go through the key policy; a refused key closes the socket before it is accepted (the
client sees the handshake fail with a 403). The session's
turns ask the control plane one at a time (``SocketCall.decide``), so scripts, fixture rules, chaos and the rate
limiter act on each response. When the session ends its :class:`Outcome` (the client's events, what decided, the
tokens) goes beside the context for the wire layer to journal the session as one exchange.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket

from mockserver.asgi.context import Outcome, context_of, key_id
from mockserver.control.decision import Decision
from mockserver.dialects.dialect import Dialect
from mockserver.endpoints.base import Socket, SocketCall
from mockserver.errors import ApiError

if TYPE_CHECKING:
    from mockserver.app.state import AppState

KEY_SUBPROTOCOL = "openai-insecure-api-key."
"""The subprotocol a browser sends its key in (it cannot set headers on a WebSocket)."""
REFUSED = 1008  # policy violation: before acceptance, the handshake's 403


def offered_key(websocket: WebSocket) -> tuple[str, str | None]:
    """The key of a session, and the subprotocol to accept (the browser's ``realtime``, when it offered keys)."""
    context = context_of(websocket.scope)
    if context.api_key:
        return context.api_key, None
    offered = websocket.scope.get("subprotocols") or []
    keys = [protocol[len(KEY_SUBPROTOCOL):] for protocol in offered if protocol.startswith(KEY_SUBPROTOCOL)]
    return (keys[0], "realtime" if "realtime" in offered else None) if keys else ("", None)


def make_socket_handler(state: AppState, dialect: Dialect, socket: Socket) -> Callable[[WebSocket],
                                                                                          Awaitable[None]]:
    async def run(websocket: WebSocket) -> None:
        context = context_of(websocket.scope)
        context.dialect = dialect.name
        context.endpoint = socket.name
        context.generation = True
        key, subprotocol = offered_key(websocket)
        refused: str | None = None

        async def decide(body: dict[str, Any]) -> Decision:
            return await state.control.decide(context, body)

        call = SocketCall(websocket, dialect, socket, context, decide)
        try:
            call.granted = socket.accepts_key(state, key) if socket.accepts_key is not None else None
            if call.granted is None:
                state.keys.authenticate(key, dialect, True)
        except ApiError as error:
            refused = "key policy"
            await websocket.close(REFUSED, reason=error.message[:120])
        try:
            if refused is None:
                await websocket.accept(subprotocol)
                await socket.handler(state, call)
        finally:
            context.outcome = Outcome(
                dialect=dialect.name, endpoint=socket.name, key_id=key_id(key),
                body={"model": call.model, "events": call.client_events or [], "received": call.events_received},
                decided_by=refused or call.decided_by, error_code="invalid_api_key" if refused else None,
                tokens_in=call.prompt_tokens, tokens_out=call.completion_tokens,
            )

    return run


__all__ = ["KEY_SUBPROTOCOL", "make_socket_handler", "offered_key"]
