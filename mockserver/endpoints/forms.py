"""Reading a ``multipart/form-data`` body: the endpoints whose pipeline ``reads_body`` is off read it here.

Starlette's parser does the work, under the same body limit as JSON (counted as the
bytes arrive) and with caps on parts and fields. Text fields are typed from the
schema of the fields (a ``"3"`` for an integer field is ``3``); each file part is
an :class:`Upload`, read whole.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from mockserver.asgi.body import check_head, limited
from mockserver.config import MAX_DIGITS
from mockserver.endpoints.base import Call
from mockserver.errors import invalid_request

if TYPE_CHECKING:
    from mockserver.app.state import AppState

MULTIPART_MEDIA_TYPE = "multipart/form-data"
MAX_FILES = 32
MAX_FIELDS = 256
_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_KEY_PART = re.compile(r"^[^\[\]]+|(?<=\[)[^\[\]]*(?=\])")


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
    resolve: Callable[[dict[str, Any]], dict[str, Any]] = lambda schema: schema,
) -> tuple[dict[str, Any], dict[str, list[Upload]]]:
    """The text fields (typed per ``properties``, the schema's) and the uploads of a multipart request.

    A field sent more than once, or as ``name[]``, is a list; ``name[key]`` is a key of the object ``name``
    (how SDKs send nested fields); a file part's field holds its filename. ``resolve`` follows a schema's
    ``$ref``. ``expected`` completes the 415's message (what the endpoint wants).
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
            name, *path = _KEY_PART.findall(key) or [key]
            listed = key.endswith("[]") or (bool(path) and path[-1] == "")
            path = [part for part in path if part]
            if isinstance(value, UploadFile):
                param = f"{name}[{len(uploads.get(name, ()))}]" if listed else name
                upload = Upload(param, value.filename or "upload", await value.read(), value.content_type)
                uploads.setdefault(name, []).append(upload)
                value = upload.filename
            else:
                value = _typed(value, _leaf_schema(properties.get(name, {}), path, listed, resolve), resolve)
            _place(fields, name, path, value, listed)
    finally:
        await form.close()
    return fields, uploads


def _place(fields: dict[str, Any], name: str, path: list[str], value: Any, listed: bool) -> None:
    """Put ``value`` at ``name[path...]``; a repeated or ``[]`` field collects a list."""
    holder, key = fields, name
    for part in path:
        nested = holder.get(key)
        if not isinstance(nested, dict):
            nested = holder[key] = {}
        holder, key = nested, part
    if listed or key in holder:
        previous = holder.get(key, [])
        holder[key] = (previous if isinstance(previous, list) else [previous]) + [value]
    else:
        holder[key] = value


def _leaf_schema(schema: dict[str, Any], path: list[str], listed: bool,
                 resolve: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    for part in path:
        schema = _branch(schema, resolve, "properties").get("properties", {}).get(part, {})
    if listed:
        schema = _branch(schema, resolve, "items").get("items", {})
    return schema


def _branch(schema: dict[str, Any], resolve: Callable[[dict[str, Any]], dict[str, Any]], key: str) -> dict[str, Any]:
    """The schema itself, or the first of its ``anyOf``/``oneOf`` branches that has ``key``."""
    schema = resolve(schema)
    if key in schema:
        return schema
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        found = _branch(branch, resolve, key)
        if key in found:
            return found
    return schema


def _kinds(schema: dict[str, Any], resolve: Callable[[dict[str, Any]], dict[str, Any]], depth: int = 0) -> set[str]:
    schema = resolve(schema)
    kinds = schema.get("type", [])
    found = {kinds} if isinstance(kinds, str) else set(kinds)
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []) if depth < 8 else []:
        found |= _kinds(branch, resolve, depth + 1)
    return found


def _typed(value: str, schema: dict[str, Any],
           resolve: Callable[[dict[str, Any]], dict[str, Any]] = lambda schema: schema) -> Any:
    """A form string as the JSON value the schema expects, when it plainly is one."""
    kinds = _kinds(schema, resolve)
    if "string" in kinds:
        return value
    if "integer" in kinds and _INTEGER.fullmatch(value):
        # as a JSON body reads it: past 64 bits a float (that every encoder takes), never an int of 4,000 digits
        return int(value) if len(value.lstrip("-")) <= MAX_DIGITS else float(value)
    if "number" in kinds and _NUMBER.fullmatch(value):
        return float(value)
    if "boolean" in kinds and value in ("true", "false"):
        return value == "true"
    if "null" in kinds and value in ("", "null"):
        return None
    return value
