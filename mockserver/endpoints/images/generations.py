"""``POST /images/generations``: pictures from the image service (:mod:`mockserver.services.images`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from mockserver.control.decision import Decision
from mockserver.endpoints.base import Call, Endpoint, Stream

if TYPE_CHECKING:
    from mockserver.app.state import AppState


def origin(request: Request) -> str:
    """Where the request came to (scheme, host, root path): image URLs point back there."""
    return str(request.base_url).rstrip("/")


async def create_images(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    order = state.images.order(call.dialect, body,
                               material={"prompt": body.get("prompt") if isinstance(body, dict) else None})
    return await state.images.respond(order, origin(call.request))


GENERATION_EVENTS = Stream(("ImageGenStreamEvent",), ("image_generation.partial_image", "image_generation.completed"))
ENDPOINTS = (
    Endpoint("images.generate", "images", "POST", "/images/generations", create_images, response="ImagesResponse",
             stream=GENERATION_EVENTS, schema="image_generation", generation=True),
)
