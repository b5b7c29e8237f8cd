"""``POST /images/generations``: pictures from the image service (:mod:`mockserver.services.images`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.control.decision import Decision
from mockserver.endpoints.base import Call, Endpoint, Stream

if TYPE_CHECKING:
    from mockserver.app.state import AppState


async def create_images(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    return await state.images.generate(call.dialect, body, call.origin)


GENERATION_EVENTS = Stream(("ImageGenStreamEvent",), ("image_generation.partial_image", "image_generation.completed"))
ENDPOINTS = (
    Endpoint("images.generate", "images", "POST", "/images/generations", create_images, response="ImagesResponse",
             stream=GENERATION_EVENTS, schema="image_generation", generation=True),
)
