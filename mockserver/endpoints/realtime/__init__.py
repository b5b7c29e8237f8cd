"""The Realtime API over WebSocket (``/v1/realtime``): voice and text sessions in the GA event protocol (see
``docs/realtime.md``). A session is a :class:`~mockserver.endpoints.base.Socket` the app accepts (the key policy,
the journal, the control plane per turn); :mod:`.session` speaks the protocol, generating through the chat service.
"""

from __future__ import annotations

from mockserver.endpoints.base import Socket
from mockserver.endpoints.realtime.secrets import RESPONDERS, minted
from mockserver.endpoints.realtime.session import serve

SOCKETS = (Socket("realtime", "realtime", "/realtime", serve, accepts_key=minted),)

__all__ = ["RESPONDERS", "SOCKETS"]
