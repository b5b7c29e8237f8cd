"""``POST /images/edits`` and ``POST /images/variations``: images in, images out.

These are the only endpoints whose body is ``multipart/form-data``, so they read it
themselves (the pipeline's ``reads_body`` is off) with Starlette's form parser. The
text fields are typed from the request schema (``schemas/requests/image_edit.json``,
``image_variation.json``) and validated like any JSON body, so errors read the same;
with ``--validation strict`` the uploads are then checked the way OpenAI checks them:
a real PNG (or, for GPT image models, JPEG or WebP), the size limits, and a mask that
is a PNG with an alpha channel and the image's exact dimensions. The answer is drawn
by :mod:`mockserver.services.images` from the prompt and the uploads' digests.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response

from mockserver.control.decision import Decision
from mockserver.endpoints.base import Call, Endpoint, Stream
from mockserver.endpoints.forms import Upload, read_form
from mockserver.errors import ApiError, invalid_request
from mockserver.generation import media
from mockserver.resources import schemas_dir
from mockserver.services.images import DALL_E_2, DALL_E_3, GPT_IMAGE, family_of
from mockserver.validation import BodyValidator

if TYPE_CHECKING:
    from mockserver.app.state import AppState

FILE_FIELDS = ("image", "mask")
MAX_UPLOADS = 17  # 16 images and a mask
DALL_E_UPLOAD_LIMIT = 4 * 1024 * 1024
GPT_UPLOAD_LIMIT = 50 * 1024 * 1024
EDIT_DEFAULT_MODEL = "gpt-image-1.5"
VARIATION_DEFAULT_MODEL = "dall-e-2"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@cache
def form_validator(kind: str, *, ignore_unknown: bool = False) -> BodyValidator:
    """The validator of ``image_edit`` or ``image_variation`` form fields, built once.

    ``ignore_unknown`` lets fields this mock does not know pass, as the ``schema``
    validation mode does for JSON bodies (newer SDKs send newer fields).
    """
    schema = orjson.loads((schemas_dir() / "requests" / f"{kind}.json").read_bytes())
    if ignore_unknown:
        del schema["additionalProperties"]
    return BodyValidator(schema)


IMAGE_PARTS = "multipart/form-data with the image as a file part"


def form_properties(kind: str) -> dict[str, Any]:
    properties: dict[str, Any] = form_validator(kind).schema["properties"]
    return properties


def validate_form(state: AppState, kind: str, fields: dict[str, Any], uploads: dict[str, list[Upload]]) -> None:
    """The schema check of the text fields (all modes but ``off``), and an image is required."""
    if state.checks.schema:
        form_validator(kind, ignore_unknown=state.checks.ignore_unknown).validate(fields)
    if "image" not in uploads:
        raise invalid_request("Missing required parameter: 'image'.", param="image", code="missing_required_parameter")


def check_uploads(
    fields: dict[str, Any], uploads: dict[str, list[Upload]], family: str, *, square: bool, alpha_or_mask: bool
) -> tuple[int, int]:
    """Check the uploads as OpenAI does; return the first image's size (for ``size: auto``).

    dall-e-2 takes one square PNG under 4 MB and, without a mask, uses the image's own
    transparency as the mask (``alpha_or_mask``); GPT image models, and models the
    mock does not know, take up to 16 PNG, JPEG or WebP files under 50 MB.
    """
    for name in fields:
        if name in FILE_FIELDS and name not in uploads:
            raise invalid_request(f"Invalid type for '{name}': expected a file upload, but got a string instead.",
                                  param=name, code="invalid_type")
    images_in = uploads["image"]
    if family == DALL_E_2 and len(images_in) > 1:
        raise invalid_request(f"dall-e-2 takes a single image; got {len(images_in)}.", param="image",
                              code="invalid_value")
    limit = DALL_E_UPLOAD_LIMIT if family == DALL_E_2 else GPT_UPLOAD_LIMIT
    sizes = [_image_size(upload, family, limit) for upload in images_in]
    width, height = sizes[0]
    if square and width != height:
        raise invalid_request(
            f"Invalid input image: the image must be square, but '{images_in[0].filename}' is {width}x{height}.",
            param=images_in[0].param,
            code="invalid_image",
        )
    mask = uploads.get("mask", [None])[0]
    if mask is not None:
        info = _png(mask, "the mask")
        if not info.has_alpha:
            raise invalid_request(
                "Invalid mask: the mask must be a PNG with an alpha channel (RGBA or grey+alpha); its fully "
                "transparent pixels mark where the image is edited.",
                param="mask",
                code="invalid_image",
            )
        if (info.width, info.height) != (width, height):
            raise invalid_request(
                f"Invalid mask: the mask is {info.width}x{info.height} but the image is {width}x{height}; "
                "they must have the same dimensions.",
                param="mask",
                code="invalid_image",
            )
    elif alpha_or_mask and not _png(images_in[0], "the image").has_alpha:
        raise invalid_request(
            "Invalid input image: without a mask, the image must have transparency (an alpha channel), "
            "which is used as the mask.",
            param=images_in[0].param,
            code="invalid_image",
        )
    return width, height


def readable_size(upload: Upload) -> tuple[int, int]:
    """The upload's size when it can be read, else 1024x1024: outside strict mode nothing is refused."""
    try:
        return _image_size(upload, GPT_IMAGE, GPT_UPLOAD_LIMIT)
    except ApiError:
        return 1024, 1024


def _image_size(upload: Upload, family: str, limit: int) -> tuple[int, int]:
    if len(upload.data) > limit:
        raise invalid_request(
            f"Invalid input image: '{upload.filename}' is {len(upload.data)} bytes; images for {family} must be "
            f"less than {limit // (1024 * 1024)} MB.",
            param=upload.param,
            code="image_too_large",
        )
    if family != DALL_E_2 and not upload.data.startswith(PNG_SIGNATURE):
        return _other_image_size(upload)
    info = _png(upload, "the image")
    return info.width, info.height


def _png(upload: Upload, what: str) -> media.PngInfo:
    try:
        return media.read_png_info(upload.data)
    except ValueError as error:
        raise invalid_request(
            f"Invalid file '{upload.filename}' for {what}: {error}. Upload a valid PNG file.",
            param=upload.param,
            code="invalid_image_format",
        ) from None


def _other_image_size(upload: Upload) -> tuple[int, int]:
    """GPT image models also take JPEG and WebP: recognise them and read their size."""
    data = upload.data
    size = _jpeg_size(data) if data.startswith(b"\xff\xd8\xff") else None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        size = _webp_size(data)
    if size is None:
        raise invalid_request(
            f"Invalid file '{upload.filename}': unsupported image format. GPT image models accept PNG, JPEG "
            "and WebP files.",
            param=upload.param,
            code="invalid_image_format",
        )
    return size


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 9 < len(data) and data[position] == 0xFF:
        marker, length = data[position + 1], int.from_bytes(data[position + 2 : position + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(data[position + 5 : position + 7], "big")
            width = int.from_bytes(data[position + 7 : position + 9], "big")
            return (width, height) if width and height else None
        position += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, (bits >> 14 & 0x3FFF) + 1
    if chunk == b"VP8 " and len(data) >= 30:
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def auto_size(width: int, height: int) -> tuple[int, int]:
    """What ``size: auto`` draws for an input of ``width`` x ``height``: the standard size of its shape."""
    if width * 5 > height * 6:
        return 1536, 1024
    if height * 5 > width * 6:
        return 1024, 1536
    return 1024, 1024


async def edit_images(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    fields, uploads = await read_form(state, call, form_properties("image_edit"), IMAGE_PARTS, MAX_UPLOADS)
    validate_form(state, "image_edit", fields, uploads)
    strict = state.checks.provider_rules
    model = fields.get("model") if isinstance(fields.get("model"), str) else EDIT_DEFAULT_MODEL
    family = family_of(model, fields)
    if family == DALL_E_3 and strict:
        raise invalid_request("Invalid value for 'model': dall-e-3 does not support image edits; use a GPT image "
                              "model or dall-e-2.", param="model", code="invalid_value")
    if strict:
        dall_e = family == DALL_E_2
        width, height = check_uploads(fields, uploads, family, square=dall_e, alpha_or_mask=dall_e)
    else:
        width, height = readable_size(uploads["image"][0])
    material = {
        "prompt": fields.get("prompt"),
        "images": [upload.sha256() for upload in uploads["image"]],
        "mask": uploads["mask"][0].sha256() if "mask" in uploads else None,
    }
    order = state.images.order(
        call.dialect, fields, material=material, default_model=model, input_images=len(uploads["image"]),
        auto_size=auto_size(width, height) if family != DALL_E_2 else (1024, 1024),
    )
    return await state.images.respond(order, call.origin, kind="image_edit")


async def create_variations(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    fields, uploads = await read_form(state, call, form_properties("image_variation"), IMAGE_PARTS, MAX_UPLOADS)
    validate_form(state, "image_variation", fields, uploads)
    model = fields.get("model") if isinstance(fields.get("model"), str) else VARIATION_DEFAULT_MODEL
    if state.checks.provider_rules and family_of(model, fields) != DALL_E_2:
        raise invalid_request(f"Invalid value for 'model': '{model}'. Image variations are only supported by "
                              "dall-e-2.", param="model", code="invalid_value")
    if state.checks.provider_rules:
        check_uploads(fields, uploads, DALL_E_2, square=True, alpha_or_mask=False)
    order = state.images.order(
        call.dialect, fields, material={"variation_of": uploads["image"][0].sha256()}, default_model=model
    )
    return await state.images.respond(order, call.origin)


EDIT_EVENTS = Stream(("ImageEditStreamEvent",), ("image_edit.partial_image", "image_edit.completed"))
ENDPOINTS = (
    Endpoint("images.edit", "image_edits", "POST", "/images/edits", edit_images, response="ImagesResponse",
             stream=EDIT_EVENTS, form="image_edit", generation=True, reads_body=False),
    Endpoint("images.create_variation", "image_edits", "POST", "/images/variations", create_variations,
             response="ImagesResponse", form="image_variation", generation=True, reads_body=False),
)
