"""Every endpoint the mock serves, declared once (:class:`~mockserver.endpoints.base.Endpoint`).

One module (or subpackage) per API family. The app mounts, for each dialect,
the endpoints of the groups its data lists (``fixtures/dialects.yaml``); the
OpenAPI document is built from the same tuple. Adding an endpoint means adding
its declaration to its family's ``ENDPOINTS`` and, where a dialect serves a new
group, naming the group in that dialect's data. A dialect listing the ``spec`` group
also serves every other operation of OpenAI's spec, through the spec engine
(:mod:`mockserver.endpoints.spec`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mockserver.endpoints import chat, embeddings, images, models, serika, spec
from mockserver.endpoints.base import Call, Endpoint, Stream
from mockserver.endpoints.spec import SPEC_GROUP, spec_endpoints

if TYPE_CHECKING:
    from mockserver.app.state import AppState

ENDPOINTS: tuple[Endpoint, ...] = (
    *chat.ENDPOINTS,
    *models.ENDPOINTS,
    *embeddings.ENDPOINTS,
    *images.ENDPOINTS,
    *serika.ENDPOINTS,
)
GROUPS: frozenset[str] = frozenset(endpoint.group for endpoint in ENDPOINTS) | {SPEC_GROUP}


def endpoints_for(groups: Iterable[str]) -> list[Endpoint]:
    """The endpoints of ``groups``, group by group (sorted), each group in declaration order; with the
    ``spec`` group last, every operation of OpenAI's spec the others do not implement."""
    wanted = sorted(set(groups) - {SPEC_GROUP})
    declared = [endpoint for group in wanted for endpoint in ENDPOINTS if endpoint.group == group]
    if SPEC_GROUP in groups:
        declared += spec_endpoints(declared)
    return declared


def install(state: AppState) -> None:
    """Let each family register what it gives the shared services of ``state`` (models it makes)."""
    spec.install(state)


__all__ = ["ENDPOINTS", "GROUPS", "Call", "Endpoint", "Stream", "endpoints_for", "install"]
