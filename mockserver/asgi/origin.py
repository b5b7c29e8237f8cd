"""Who may talk to the mock: its own origin only.

The mock listens on loopback and trusts its callers: the admin API resets it, scripts its failures and reads
the journal's prompts, and under ``--record`` its chat goes to the real provider with the developer's key. A web
page the developer has open must not be able to do any of that. Two browser attacks reach a loopback server:

- **DNS rebinding**: a page's own name is made to resolve to 127.0.0.1, so the browser treats the mock as the
  page's origin and lets it read every answer. Its requests still carry the page's name in ``Host``: the mock
  answers only a ``Host`` that is a loopback name, the address it is bound to, or a name given with
  ``--allowed-host``.
- **Cross-site requests**: any page may send a form POST or a no-cors ``fetch`` to ``http://127.0.0.1:8000``;
  it cannot read the answer, but the request acts. A browser says where such a request comes from in
  ``Origin``: a request that may change state (anything but GET, HEAD, OPTIONS) whose ``Origin`` is another
  site is refused. Clients that are not browsers send no ``Origin``. A WebSocket upgrade (the Realtime API) is a
  GET whose answers a page could read: one from another site is refused whatever it asks.

A request that reaches the app with no socket (the in-process transports) comes from the test itself and is
not checked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import Scope

from mockserver.asgi.context import TRANSPORT_KEY, context_of

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::", ""})
ANY_HOST = "*"
KNOWN_HOSTS = 256


class OriginPolicy:
    """The names the mock answers to, and the origins that may change its state."""

    def __init__(self, bound_host: str, allowed_hosts: Iterable[str] = ()) -> None:
        self.bound_host = _bare(bound_host)
        self.allowed = frozenset(_bare(name) for name in allowed_hosts)
        self.any_host = ANY_HOST in self.allowed
        self._hosts: dict[str, bool] = {}

    def refusal(self, scope: Scope) -> tuple[str, str] | None:
        """Why a request is refused (an error code and the message), or None when it may go on."""
        if TRANSPORT_KEY not in scope:  # no socket: in-process, from the test itself
            return None
        headers = context_of(scope).headers  # parsed once, by the wire layer
        host = headers.get(b"host", b"").decode("latin-1")
        if host and not self.host_allowed(host):  # no Host at all: HTTP/1.0, never a browser
            return "host_not_allowed", (
                f"The mock answers requests to its own address only, and this one was sent to Host {host!r} "
                "(a page whose name was made to point at this machine looks like this). If you reach the mock by "
                f"this name on purpose, start it with --allowed-host {_bare(host) or 'NAME'} "
                "(or MOCKSERVER_ALLOWED_HOST).")
        origin = headers.get(b"origin")
        if scope["method"] not in SAFE_METHODS and origin is not None:
            sent = origin.decode("latin-1")
            if not self.origin_allowed(sent, host):
                return "cross_origin_request", (
                    f"The mock refuses a {scope['method']} sent by a page of another site (Origin {sent!r}): a web "
                    "page may not reset, script or drive it. Send it from the sandbox page (/_mock/ui) or a client "
                    "that is not a browser, or allow that site's name with --allowed-host.")
        return None

    def refuses_socket(self, scope: Scope) -> bool:
        """Whether a WebSocket upgrade is refused: sent to another Host, or from a page of another site. A browser
        lets any page open a WebSocket to the mock and read what comes back, so unlike a GET, an upgrade with a
        foreign ``Origin`` is refused whatever it asks."""
        headers = context_of(scope).headers
        host = headers.get(b"host", b"").decode("latin-1")
        if host and not self.host_allowed(host):
            return True
        origin = headers.get(b"origin")
        return origin is not None and not self.origin_allowed(origin.decode("latin-1"), host)

    def host_allowed(self, host: str) -> bool:
        """Whether the mock answers requests sent to ``host`` (a Host header); remembered, as it repeats."""
        known = self._hosts.get(host)
        if known is None:
            known = self._host_allowed(host)
            if len(self._hosts) < KNOWN_HOSTS:  # a client's many Host values: the rest are worked out each time
                self._hosts[host] = known
        return known

    def _host_allowed(self, host: str) -> bool:
        name = _bare(host)
        if self.any_host or name in self.allowed or name in LOOPBACK_NAMES or name.endswith(".localhost"):
            return True
        address = _address(name)
        if address is not None and address.is_loopback:
            return True
        if name == self.bound_host:
            return True
        # Bound to every interface: the machine's own addresses reach it, and no page can make them its name.
        return self.bound_host in WILDCARD_ADDRESSES and address is not None

    def origin_allowed(self, origin: str, host: str) -> bool:
        if origin == "null":  # a sandboxed frame, a file: page, a redirect across sites
            return False
        parts = urlsplit(origin)
        if parts.netloc.lower() == host.lower():
            return True
        return self.any_host or _bare(parts.netloc) in self.allowed


def _bare(host: str) -> str:
    """A Host header's name without its port or IPv6 brackets, in lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


__all__ = ["OriginPolicy"]
