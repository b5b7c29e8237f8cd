"""The image service: pictures for ``POST /images/generations`` and every family that draws.

OpenAI's ``/images/generations``, ``/images/edits`` and ``/images/variations`` and Serika's
``/generate/image`` and ``/jobs/image`` all go through the same three steps kept here
(:class:`ImageService`, built once in ``AppState``): read the
request into an :class:`ImageOrder` (which model family's rules apply, what size and
format, where the picture comes from), check it as the provider would, then answer
with real image files (``media.png_image``, ``jpeg_image``, ``webp_image``).

A picture is a pure function of the prompt (or uploaded image), the server seed and
the image's index, so the same request draws the same pictures at any size.

``response_format: "url"`` answers with URLs served by the mock itself. A URL's last
segment carries everything needed to draw the picture again (seed material, index,
size, format), so nothing is stored: no cache to bound, and URLs keep working
across restarts and uvicorn workers.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass
from typing import Any, TypeGuard

import anyio.to_thread
import orjson
from starlette.responses import Response

from mockserver.asgi.outgoing import FramesResponse, PiecesResponse, error_response, event_frame, json_response
from mockserver.config import Config
from mockserver.determinism import Identity, digest, rng
from mockserver.dialects.dialect import Dialect
from mockserver.errors import ApiError, invalid_request, model_not_found
from mockserver.generation import media, prose
from mockserver.generation.tokens import IMAGE_TOKENS, tokenizer
from mockserver.validation import Checks

GPT_IMAGE, DALL_E_2, DALL_E_3, OTHER = "gpt-image", "dall-e-2", "dall-e-3", "other"
STANDARD_SIZES = ("1024x1024", "1024x1536", "1536x1024")
"""The sizes GPT image models draw, and the only ones ``ImagesResponse.size`` may report."""
SIZES = {
    GPT_IMAGE: (*STANDARD_SIZES, "auto"),
    DALL_E_2: ("256x256", "512x512", "1024x1024"),
    DALL_E_3: ("1024x1024", "1792x1024", "1024x1792"),
}
QUALITIES = {
    GPT_IMAGE: ("low", "medium", "high", "auto"),
    DALL_E_2: ("standard", "auto"),
    DALL_E_3: ("standard", "hd", "auto"),
}
PROMPT_LIMITS = {GPT_IMAGE: 32000, DALL_E_2: 1000, DALL_E_3: 4000}
GPT_ONLY = ("background", "moderation", "output_compression", "output_format", "partial_images")
"""Arguments only GPT image models take; ``stream: true`` is one too."""
AUTO_QUALITY = "high"
"""What ``quality: auto`` reports: the docs say auto picks "the best quality for the given model"."""
OUTPUT_TOKENS = {"low": (272, 408, 400), "medium": (1056, 1584, 1568), "high": (4160, 6240, 6208)}
"""Image tokens per picture for gpt-image-1, square / portrait / landscape, from OpenAI's pricing table."""
FORMATS = ("png", "jpeg", "webp")
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
FILES_PATH = "/_mock/files/images/"
"""Where the mock serves the pictures its image URLs name (a root route of the admin table)."""
_FILE_LAYOUT = ">16sBHHB"  # picture seed, index, width, height, flags (bit 0 transparent, bits 1-2 format)
_CHECK_BYTES = 4
MAX_REQUEST_PIXELS = 10 * 1792 * 1024
"""Pixels one request may draw (``n`` x width x height): the most the documented sizes
allow (ten 1792x1024 pictures), which leaves room for one 4096x4096 picture under
``--validation off``."""


@dataclass(frozen=True)
class ImageOrder:
    """One request for pictures, resolved: every default applied, every choice made."""

    model: str
    family: str
    prompt: str
    n: int
    width: int
    height: int
    quality: str
    background: str
    output_format: str
    response_format: str
    stream: bool
    partial_images: int
    picture_seed: bytes
    input_images: int = 0

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def transparent(self) -> bool:
        return self.background == "transparent"

    def render(self, index: int) -> bytes:
        return render(self.picture_seed, index, self.width, self.height, self.output_format, self.transparent)

    @property
    def inline(self) -> bool:
        """Whether the pictures travel in the answer (``b64_json`` or a stream) rather than as URLs."""
        return self.stream or self.response_format != "url"


def family_of(model: str | None, body: dict[str, Any]) -> str:
    """Which rules apply. Without a model, OpenAI picks dall-e-2 unless a GPT-only argument is used."""
    if model is None:
        gpt_only = any(body.get(name) is not None for name in GPT_ONLY) or body.get("stream") is True
        return GPT_IMAGE if gpt_only or body.get("quality") in ("low", "medium", "high") else DALL_E_2
    name = model.rsplit("/", 1)[-1].lower()
    if "gpt-image" in name or "chatgpt-image" in name:
        return GPT_IMAGE
    if name.startswith("dall-e-3"):
        return DALL_E_3
    if name.startswith("dall-e-2"):
        return DALL_E_2
    return OTHER


def image_order(
    config: Config,
    checks: Checks,
    dialect: Dialect,
    body: Any,
    *,
    material: Any,
    default_model: str | None = None,
    input_images: int = 0,
    auto_size: tuple[int, int] = (1024, 1024),
) -> ImageOrder:
    """Read an image request (already schema-checked unless ``--validation off``) into an order.

    ``material`` is what the pictures are drawn from (the prompt, plus the uploads'
    digests for edits); it must not include size or format, so one prompt draws one
    scene whatever the requested size. ``auto_size`` is what ``size: auto`` (or no
    size) draws. Reading is defensive about types because with
    ``--validation off`` nothing has checked them: a field of the wrong type counts as absent.
    """
    if not isinstance(body, dict):
        raise invalid_request("Request body must be a JSON object.", code="invalid_type")
    model = _text(body.get("model")) or default_model
    family = family_of(model, body)
    check_model(checks, dialect, model, family)
    if checks.provider_rules:
        check_image_request(body, family, model)
    n = body.get("n")
    fmt = body.get("output_format") if family in (GPT_IMAGE, OTHER) else None  # dall-e only draws PNG
    output_format = fmt if fmt in FORMATS else "png"
    partial = body.get("partial_images")
    width, height = _size(body.get("size"), auto_size)
    count = n if _is_int(n) and 1 <= n <= 10 else 1
    check_pixels(count, width, height)
    return ImageOrder(
        model=model or DALL_E_2,
        family=family,
        prompt=_text(body.get("prompt")) or "",
        n=count,
        width=width,
        height=height,
        quality=_quality(body.get("quality")),
        background="transparent" if body.get("background") == "transparent" and output_format != "jpeg" else "opaque",
        output_format=output_format,
        response_format="b64_json" if family == GPT_IMAGE else (_text(body.get("response_format")) or "url"),
        stream=body.get("stream") is True,
        partial_images=partial if _is_int(partial) and 0 <= partial <= 3 else 0,
        picture_seed=digest(material, config.seed)[:16],
        input_images=input_images,
    )


def check_pixels(n: int, width: int, height: int) -> None:
    """The work bound of one request: at most :data:`MAX_REQUEST_PIXELS`, whatever the validation mode."""
    pixels = n * width * height
    if pixels > MAX_REQUEST_PIXELS:
        raise invalid_request(
            f"Invalid value for '{'n' if n > 1 else 'size'}': {n} x {width}x{height} is {pixels:,} pixels, and "
            f"this mock draws at most {MAX_REQUEST_PIXELS:,} per request (ten 1792x1024 images, or one "
            "4096x4096). Ask for fewer or smaller images.",
            param="n" if n > 1 else "size",
            code="invalid_value",
        )


def check_model(checks: Checks, dialect: Dialect, model: str | None, family: str) -> None:
    """404 for a model the dialect does not serve, as for chat; 400 for a known non-image model.

    Only catalogs that list image models can say a model is unknown: a provider whose
    docs name no image model (Serika) gets whatever model the client asks for.
    """
    if model is None:
        return
    catalog = dialect.catalog
    known = catalog.get(model)
    if known is None:
        lists_images = any(info.kind == "image" for info in catalog.models.values())
        if lists_images and not dialect.accept_any_model:
            raise model_not_found(model)
        return
    if known.kind != "image" and checks.provider_rules:
        raise invalid_request(
            f"Invalid value for 'model': '{model}' is a {known.kind} model, not an image model. "
            "Use an image model such as gpt-image-1, dall-e-3 or dall-e-2.",
            param="model",
            code="invalid_value",
        )


def check_image_request(body: dict[str, Any], family: str, model: str | None) -> None:
    """The per-model rules the live API enforces beyond the schema (``--validation strict``)."""
    if family == OTHER:
        return
    label = model or family
    for name in (*GPT_ONLY, "stream"):
        value = body.get(name)
        if family != GPT_IMAGE and value is not None and value is not False:
            raise _unknown_parameter(name, f"'{name}' is only supported by the GPT image models, not {label}.")
    if family == GPT_IMAGE and body.get("response_format") is not None:
        raise _unknown_parameter(
            "response_format", "GPT image models always return base64-encoded images (b64_json); "
            "response_format is only supported by dall-e-2 and dall-e-3."
        )
    if family != DALL_E_3 and body.get("style") is not None:
        raise _unknown_parameter("style", f"'style' is only supported by dall-e-3, not {label}.")
    prompt, limit = body.get("prompt"), PROMPT_LIMITS[family]
    if isinstance(prompt, str) and len(prompt) > limit:
        raise invalid_request(
            f"Invalid 'prompt': string too long. Expected a string with maximum length {limit}, "
            f"but got a string with length {len(prompt)} instead.",
            param="prompt",
            code="string_above_max_length",
        )
    size = body.get("size")
    if size is not None and size not in SIZES[family]:
        raise _unsupported_value("size", size, SIZES[family])
    quality = body.get("quality")
    if quality is not None and quality not in QUALITIES[family]:
        raise _unsupported_value("quality", quality, QUALITIES[family])
    n = body.get("n")
    if family == DALL_E_3 and _is_int(n) and n > 1:
        raise invalid_request(
            f"Invalid 'n': integer above maximum value. Expected a value <= 1, but got {n} instead. "
            "dall-e-3 generates one image per request.",
            param="n",
            code="integer_above_max_value",
        )
    fmt = body.get("output_format") or "png"
    if body.get("background") == "transparent" and fmt == "jpeg":
        raise invalid_request(
            "Invalid value for 'background': a transparent background needs output_format 'png' or 'webp'; "
            "jpeg has no alpha channel.",
            param="background",
            code="invalid_value",
        )
    compression = body.get("output_compression")
    if fmt == "png" and _is_int(compression) and compression < 100:
        raise invalid_request(
            "Invalid value for 'output_compression': compression less than 100 is not supported for the png "
            "output format; use jpeg or webp.",
            param="output_compression",
            code="invalid_value",
        )


def _unknown_parameter(name: str, why: str) -> ApiError:
    return invalid_request(f"Unknown parameter: '{name}'. {why}", param=name, code="unknown_parameter")


def _unsupported_value(name: str, value: Any, supported: tuple[str, ...]) -> ApiError:
    choices = ", ".join(f"'{choice}'" for choice in supported[:-1]) + f" and '{supported[-1]}'"
    return invalid_request(
        f"Invalid value: '{value}'. Supported values are: {choices}.", param=name, code="invalid_value"
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _size(value: Any, auto: tuple[int, int]) -> tuple[int, int]:
    if value in (None, "auto"):
        return auto
    try:
        return media.parse_size(value)
    except ValueError:
        return auto


def _quality(value: Any) -> str:
    """The quality a GPT image model reports: ``ImagesResponse`` allows low, medium and high."""
    if value in ("low", "medium", "high"):
        return value
    return "medium" if value == "standard" else AUTO_QUALITY


# --- rendering and the stateless file URLs ------------------------------------------


def render(picture_seed: bytes, index: int, width: int, height: int, fmt: str, transparent: bool) -> bytes:
    seed = picture_seed + bytes([index])
    if fmt == "jpeg":
        return media.jpeg_image(seed, width, height)
    if fmt == "webp":
        return media.webp_image(seed, width, height, transparent=transparent)
    return media.png_image(seed, width, height, transparent=transparent)


def file_name(order: ImageOrder, index: int, server_seed: int) -> str:
    """The last URL segment of picture ``index``: its inputs, a check, and the extension."""
    flags = int(order.transparent) | FORMATS.index(order.output_format) << 1
    payload = struct.pack(_FILE_LAYOUT, order.picture_seed, index, order.width, order.height, flags)
    token = base64.urlsafe_b64encode(payload + _check(payload, server_seed)).rstrip(b"=").decode()
    return f"{token}.{order.output_format}"


def _check(payload: bytes, server_seed: int) -> bytes:
    return hashlib.sha256(server_seed.to_bytes(16, "big", signed=True) + payload).digest()[:_CHECK_BYTES]


# --- the response -------------------------------------------------------------------


def usage(order: ImageOrder) -> dict[str, Any]:
    """Token usage as GPT image models report it: prompt text (and input images) in, image tokens out."""
    text_tokens = tokenizer("o200k_base").count(order.prompt)
    image_tokens = order.input_images * IMAGE_TOKENS["high"]
    per_image = OUTPUT_TOKENS[order.quality]
    if order.size in STANDARD_SIZES:
        output = per_image[STANDARD_SIZES.index(order.size)]
    else:
        output = round(per_image[0] * order.width * order.height / (1024 * 1024))
    output *= order.n
    return {
        "input_tokens": text_tokens + image_tokens,
        "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
        "output_tokens": output,
        "output_tokens_details": {"image_tokens": output, "text_tokens": 0},
        "total_tokens": text_tokens + image_tokens + output,
    }


def _draw_all(order: ImageOrder) -> list[bytes]:
    return [base64.b64encode(order.render(index)) for index in range(order.n)]


def images_body(
    server_seed: int, origin: str, order: ImageOrder, created: int, pictures: list[bytes]
) -> dict[str, Any]:
    """The official ``ImagesResponse``; GPT image models add what they resolved, and usage.

    ``pictures`` is what :meth:`ImageService.draw` returned for ``order``; URLs point to ``origin``.

    Models the mock does not know take GPT-style arguments and report what they resolved
    too, without usage: there is no price list to count by.
    """
    data = []
    for index in range(order.n):
        if order.response_format == "url":
            item: dict[str, Any] = {"url": origin + FILES_PATH + file_name(order, index, server_seed)}
        else:
            item = {"b64_json": pictures[index].decode()}
        if order.family == DALL_E_3:
            item["revised_prompt"] = revised_prompt(order, index)
        data.append(item)
    body: dict[str, Any] = {"created": created, "data": data}
    if order.family in (GPT_IMAGE, OTHER):
        body["background"] = order.background
        body["output_format"] = order.output_format
        body["quality"] = order.quality
        if order.size in STANDARD_SIZES:
            body["size"] = order.size
    if order.family == GPT_IMAGE:
        body["usage"] = usage(order)
    return body


def revised_prompt(order: ImageOrder, index: int) -> str:
    """dall-e-3 rewrites every prompt into a more detailed one and says so."""
    detail = prose.sentence(rng(order.picture_seed, f"revised{index}"))
    return f"{order.prompt.strip().rstrip('.')}. {detail}".lstrip(". ")


def image_events(order: ImageOrder, created: int, kind: str, pictures: list[bytes]) -> list[bytes]:
    """SSE frames for ``stream: true``: ``partial_images`` previews, then the finished picture.

    ``kind`` is ``image_generation`` or ``image_edit``. A mock has no half-drawn
    states, so previews carry the finished picture; the events are the official
    ``ImageGenStreamEvent`` / ``ImageEditStreamEvent`` shapes.
    """
    frames = []
    common = {
        "created_at": created,
        "size": order.size if order.size in STANDARD_SIZES else "auto",
        "quality": order.quality,
        "background": order.background,
        "output_format": order.output_format,
    }
    for picture in pictures:
        for position in range(order.partial_images):
            event = {"type": f"{kind}.partial_image", "b64_json": "", **common, "partial_image_index": position}
            frames.append(b"".join(splice_pictures(event_frame(event), [picture])))
        completed = {"type": f"{kind}.completed", "b64_json": "", **common, "usage": usage(order)}
        frames.append(b"".join(splice_pictures(event_frame(completed), [picture])))
    return frames


_NO_PICTURE = b'"b64_json":""'


def splice_pictures(encoded: bytes, pictures: list[bytes]) -> list[bytes]:
    """``encoded`` JSON whose ``b64_json`` values were left empty, as pieces with the pictures in their place.

    Encoding megabytes of base64 through the JSON encoder would scan and copy them on the event loop;
    base64 needs no escaping, and an empty ``"b64_json":""`` cannot occur inside any JSON string.
    """
    parts = encoded.split(_NO_PICTURE)
    pieces = [parts[0]]
    for picture, rest in zip(pictures, parts[1:], strict=True):
        pieces += [b'"b64_json":"', picture, b'"', rest]
    return pieces


class ImageService:
    """Orders, draws and answers pictures for every family, with the server's seed and its worker threads."""

    def __init__(self, config: Config, checks: Checks, identity: Identity, heavy_work: anyio.CapacityLimiter) -> None:
        self.config = config
        self.checks = checks
        self.identity = identity
        self.heavy_work = heavy_work

    def order(self, dialect: Dialect, body: Any, *, material: Any, default_model: str | None = None,
              input_images: int = 0, auto_size: tuple[int, int] = (1024, 1024)) -> ImageOrder:
        """:func:`image_order` with this server's configuration."""
        return image_order(self.config, self.checks, dialect, body, material=material, default_model=default_model,
                           input_images=input_images, auto_size=auto_size)

    async def draw(self, order: ImageOrder) -> list[bytes]:
        """The base64 of every picture an answer carries inline (none for URLs), drawn on a worker thread.

        A large picture takes a few hundred milliseconds to draw; the encoders release the
        GIL often, so the event loop keeps answering meanwhile, and ``heavy_work``
        caps how many are drawn at once (and so the memory they hold).
        """
        if not order.inline:
            return []
        return await anyio.to_thread.run_sync(_draw_all, order, limiter=self.heavy_work)

    def body(self, origin: str, order: ImageOrder, created: int, pictures: list[bytes]) -> dict[str, Any]:
        return images_body(self.config.seed, origin, order, created, pictures)

    async def generate(self, dialect: Dialect, body: Any, origin: str) -> Response:
        """The answer to ``POST /images/generations`` (or a provider's path for it): pictures of the prompt."""
        prompt = body.get("prompt") if isinstance(body, dict) else None
        return await self.respond(self.order(dialect, body, material={"prompt": prompt}), origin)

    async def respond(self, order: ImageOrder, origin: str, kind: str = "image_generation") -> Response:
        """The answer to an image request: JSON (pictures spliced in without re-encoding them) or its events.
        ``origin`` is the scheme, host and root path the request came to (URLs point there)."""
        created = self.identity.created()
        pictures = await self.draw(order)
        if order.stream:
            return FramesResponse(image_events(order, created, kind, pictures))
        if not order.inline:
            return json_response(self.body(origin, order, created, pictures))
        body = self.body(origin, order, created, [b""] * order.n)
        return PiecesResponse(splice_pictures(orjson.dumps(body), pictures))

    async def file(self, name: str) -> Response:
        """``GET /_mock/files/images/{name}``: draw the picture a URL names, without any store."""
        token, _, extension = name.partition(".")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload, check = raw[: -_CHECK_BYTES], raw[-_CHECK_BYTES:]
            picture_seed, index, width, height, flags = struct.unpack(_FILE_LAYOUT, payload)
            fmt = FORMATS[flags >> 1]
            valid = (
                check == _check(payload, self.config.seed) and extension == fmt and flags < 6
                and 1 <= width <= media.MAX_SIDE and 1 <= height <= media.MAX_SIDE
                and width * height * (index + 1) <= MAX_REQUEST_PIXELS  # picture i came with i others this size
            )
        except (ValueError, struct.error, IndexError):
            valid = False
        if not valid:
            return error_response(
                ApiError(404, f"No image file named '{name}' on this mock server.",
                         code="file_not_found")
            )
        data = await anyio.to_thread.run_sync(
            render, picture_seed, index, width, height, fmt, bool(flags & 1), limiter=self.heavy_work
        )
        return Response(data, media_type=MEDIA_TYPES[fmt], headers={"cache-control": "public, max-age=3600, immutable"})


__all__ = ["FILES_PATH", "ImageOrder", "ImageService"]
