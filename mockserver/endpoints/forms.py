"""Reading a ``multipart/form-data`` body: the endpoints whose pipeline ``reads_body`` is off read it here.

Starlette's parser does the work, under the same body limit as JSON (counted as the
bytes arrive) and with caps on parts and fields. Text fields are typed from the
schema of the fields (a ``"3"`` for an integer field is ``3``); each file part is
an :class:`Upload`, read whole.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from mockserver.asgi.body import check_head, limited
from mockserver.endpoints.base import Call
from mockserver.errors import invalid_request

if TYPE_CHECKING:
    from mockserver.state import AppState

MULTIPART_MEDIA_TYPE = "multipart/form-data"
MAX_FILES = 32
MAX_FIELDS = 256
_INTEGER = re.compile(r"-?[0-9]+")


class Upload:
    """One uploaded file, read whole (the body limit keeps it bounded) and named for errors."""

    def __init__(self, param: str, filename: str, data: bytes, content_type: str | None = None) -> None:
        self.param = param
        self.filename = filename
        self.data = data
        self.content_type = content_type

    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


async def read_form(
    state: AppState,
    call: Call,
    properties: dict[str, Any],
    expected: str = "multipart/form-data",
    max_files: int = MAX_FILES,
) -> tuple[dict[str, Any], dict[str, list[Upload]]]:
    """The text fields (typed per ``properties``, the schema's) and the uploads of a multipart request.

    A field sent more than once, or as ``name[]``, is a list; a file part's field holds its filename.
    ``expected`` completes the 415's message (what the endpoint wants).
    """
    limit = state.config.max_body
    request = Request(call.request.scope, limited(call.request.receive, limit))
    check_head(call.context.headers, limit, MULTIPART_MEDIA_TYPE, expected)
    try:
        form = await request.form(max_files=max_files, max_fields=MAX_FIELDS)
    except HTTPException as error:
        message = f"We could not parse the multipart body: {error.detail}"
        raise invalid_request(message, code="invalid_multipart") from None
    fields: dict[str, Any] = {}
    uploads: dict[str, list[Upload]] = {}
    try:
        for key, value in form.multi_items():
            name = key.removesuffix("[]")
            if isinstance(value, UploadFile):
                param = f"{name}[{len(uploads.get(name, ()))}]" if key.endswith("[]") else name
                upload = Upload(param, value.filename or "upload", await value.read(), value.content_type)
                uploads.setdefault(name, []).append(upload)
                value = upload.filename
            else:
                value = _typed(value, properties.get(name, {}))
            if key.endswith("[]") or name in fields:
                previous = fields.get(name, [])
                fields[name] = (previous if isinstance(previous, list) else [previous]) + [value]
            else:
                fields[name] = value
    finally:
        await form.close()
    return fields, uploads


def _typed(value: str, schema: dict[str, Any]) -> Any:
    """A form string as the JSON value the schema expects, when it plainly is one."""
    kinds = schema.get("type", [])
    if "integer" in kinds and _INTEGER.fullmatch(value):
        return int(value)
    if "boolean" in kinds and value in ("true", "false"):
        return value == "true"
    return value
