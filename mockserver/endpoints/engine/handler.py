"""The spec engine: every operation of OpenAI's spec that no hand-written endpoint implements.

Each request is one :class:`~mockserver.endpoints.engine.operations.Operation`, and what
the engine does follows from its kind:

- ``create``: an answer generated from the response schema (seeded by the request, so
  the same request gives the same answer), with the id prefix the real API uses, the
  request's own fields where the answer has them, and the time now; it is kept in its
  collection (``/files``, ``/vector_stores/vs_1/files``). A file upload keeps its bytes.
- ``retrieve`` returns what was created; ``update`` merges what was sent; ``delete``
  answers the spec's deleted object and forgets the resource and what is nested under
  it; then each is a 404. ``list`` pages the collection, newest first unless
  ``order=asc``, with ``after``, ``before`` and ``limit`` (Anthropic's ``after_id`` and
  ``before_id``, or its ``page`` token, which ``next_page`` hands out).
- an ``action`` on a resource (``cancel``, ``complete``...) answers the resource with the
  status the action names when the answer is that resource, else a generated answer.
- ``content`` returns the bytes a file was uploaded with; a ``call`` is generated, and finished by its
  hook in :mod:`~mockserver.endpoints.engine.semantics` where its values matter (moderations).

With ``--validation schema`` (contract tests) an unknown id is synthesized instead of a
404. Bodies are checked against the official request schema unless ``--validation off``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.body import read_json
from mockserver.asgi.outgoing import FramesResponse, event_frame, json_response
from mockserver.config import whole_number
from mockserver.conformance import official_document
from mockserver.control.decision import Decision
from mockserver.determinism import Identity, digest, rng
from mockserver.endpoints.base import Call
from mockserver.endpoints.engine import schemas
from mockserver.endpoints.engine.lifecycle import Lifecycles
from mockserver.endpoints.engine.operations import (
    CALL,
    CONTENT,
    CREATE,
    DELETE,
    JSON,
    LIST,
    MULTIPART,
    RETRIEVE,
    SSE,
    UPDATE,
    Operation,
    load_operations,
)
from mockserver.endpoints.engine.request import SpecRequest
from mockserver.endpoints.engine.semantics import HOOKS
from mockserver.endpoints.forms import Upload, read_form
from mockserver.errors import ApiError, invalid_request
from mockserver.generation import jsongen
from mockserver.validation import describe

if TYPE_CHECKING:
    from mockserver.app.state import AppState

DEFAULT_PAGE = 20
STREAM_EVENTS = 3
MAX_PAGE = 10_000
ACTION_STATUSES = {
    "cancel": ("cancelled", "canceled", "cancelling"),
    "complete": ("completed",),
    "pause": ("paused",),
    "resume": ("running", "in_progress"),
    "archive": ("archived",),
    "accept": ("accepted", "active"),
    "hangup": ("completed", "ended"),
    "reject": ("rejected",),
}
"""The status an action leaves its resource in: the first of these the resource's schema allows."""


async def handle(lifecycles: Lifecycles, state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    """One request to a spec operation: read, checked, seeded, then answered by the endpoint's responder or by
    what the operation's kind says (with the lifecycle of its collection, if ``lifecycles`` has one)."""
    operation = call.endpoint.operation
    assert operation is not None, "the spec engine serves spec endpoints only"
    params = dict(call.request.path_params)
    body, uploads = await _read_body(state, call, operation, body)
    if state.checks.schema and call.endpoint.validate is None:  # a JSON body was checked before decide
        validate_body(operation, body, call.header("content-type") or "")
    resources = state.stores.resources
    collection = operation.store + _concrete(operation.collection, params)
    _require_parent(state, operation, params)
    resource_id = params.get(_item_parameter(operation)) if operation.kind not in (CREATE, LIST, CALL) else None
    # What every answer to this request is drawn from: the operation, its path parameters, its body, the seed.
    seed = digest({"operation": operation.id, "params": params, "body": body, "files": _file_digests(uploads)},
                  state.config.seed)
    request = SpecRequest(state, call, decision, operation, body, uploads, params, seed, lifecycles)
    responder = call.endpoint.responder
    if responder is not None:
        answered = await responder(request)
        if answered is not None:
            return answered
    if operation.streams and (body.get("stream") is True or operation.response_schema is None):
        return _stream(operation, seed)
    if operation.kind == CREATE and operation.response_schema is None:
        return _bytes_answer(operation, body, seed)  # a realtime call's SDP answer
    if operation.kind == CREATE:
        answer = _generate(operation, seed)
        answer = _shape(state, operation, answer, body, _new_id(state, operation, body, seed), params, uploads)
        if "id" in answer:
            await lifecycles.begin(request, operation.collection, collection, answer)
            resources.put(collection, answer["id"], answer)
            upload = _single_upload(uploads)
            if upload is not None:
                resources.put_content(answer["id"], upload.data)
        return _answer(operation, answer)
    if operation.kind == LIST:
        listed = page(operation, seed, resources.ids(collection), lambda found: resources.get(collection, found), call)
        listed["data"] = [await lifecycles.current(request, operation.collection, collection, item)
                          for item in listed["data"]]
        return _answer(operation, listed)
    if operation.kind == CALL:
        if operation.response_schema is None:
            return _bytes_answer(operation, body, seed)
        made_id = _new_id(state, operation, body, seed, kept=False) if operation.id_prefix else None
        answer = _shape(state, operation, _generate(operation, seed), body, made_id, params, uploads)
        if "id" in answer:
            await lifecycles.begin(request, operation.collection, collection, answer)
        hook = HOOKS.get(operation.id)
        if hook is not None:
            answer = hook(body, seed, answer)
        return _answer(operation, answer)
    assert resource_id is not None
    found = resources.get(collection, resource_id)
    stored = found if found is not None else _missing(state, operation, resource_id, seed)
    stored = await lifecycles.current(request, operation.collection, collection, stored)
    if operation.kind == RETRIEVE:
        return _answer(operation, stored)
    if operation.kind == UPDATE:
        merged = {**stored, **{key: value for key, value in body.items() if key in schemas.properties(operation)}}
        if schemas.invalid(operation, merged):
            merged = stored
        resources.put(collection, resource_id, merged)
        return _answer(operation, merged)
    if operation.kind == DELETE:
        if found is not None:
            resources.delete(collection, resource_id)
            lifecycles.forget(state, collection, resource_id)
        deleted = {**_generate(operation, seed), **_tags(operation)}
        deleted.update({key: value for key, value in (("id", resource_id), ("deleted", True))
                        if key in schemas.properties(operation)})
        return _answer(operation, deleted)
    if operation.kind == CONTENT:
        content = resources.content(resource_id)
        if content is not None:
            return Response(content, media_type="application/octet-stream")
        if operation.response_schema is None:
            return _bytes_answer(operation, body, seed)
        return _answer(operation, _generate(operation, seed))
    acted = await lifecycles.act(request, operation.collection, collection, stored, operation.segments[-1])
    if acted is not None:
        return _answer(operation, acted)
    acted = _act(state, operation, body, params, seed, collection, resource_id, stored)
    if acted.get("status") != stored.get("status"):
        lifecycles.stop(state, collection, resource_id)
    return _answer(operation, acted)


def _act(
    state: AppState, operation: Operation, body: dict[str, Any], params: dict[str, str], seed: bytes,
    collection: str, resource_id: str, stored: dict[str, Any],
) -> dict[str, Any]:
    """An action: the resource itself, in the status the action names, when the answer is the resource."""
    answer = _generate(operation, seed)
    if (operation.example_object or answer.get("object")) != stored.get("object") or "id" not in answer:
        return _shape(state, operation, answer, body, None, params)
    updated = {**stored, **{key: value for key, value in body.items() if key in stored}}
    verb = operation.segments[-1]
    for status in ACTION_STATUSES.get(verb, ()):
        candidate = {**updated, "status": status}
        if not schemas.invalid(operation, candidate):
            updated = candidate
            break
    properties = schemas.properties(operation)
    for stamp in (f"{verb}d_at", f"{verb}ed_at", f"{verb}led_at"):  # archive -> archived_at: when it happened
        if stamp in properties and updated.get(stamp) is None:
            candidate = {**updated, stamp: _time(properties[stamp], state.identity.created())}
            if not schemas.invalid(operation, candidate):
                updated = candidate
    state.stores.resources.put(collection, resource_id, updated)
    return updated


# --- reading and checking the body ------------------------------------------------------------------------


async def _read_body(
    state: AppState, call: Call, operation: Operation, parsed: Any
) -> tuple[dict[str, Any], dict[str, list[Upload]]]:
    """The body as a dict (empty when there is none) and its uploads (multipart only)."""
    if not call.endpoint.reads_body and operation.request:
        content_type = call.header("content-type") or ""
        if content_type.startswith("multipart/") or operation.json_request is None:
            schema = operation.form_request or {}
            fields, uploads = await read_form(state, call, schemas.resolved(schema).get("properties", {}),
                                              resolve=schemas.resolved)
            call.read_body = fields
            return fields, uploads
        parsed = await read_json(call.request, state.config.max_body)
        call.read_body = parsed
    if parsed is None:
        return {}, {}
    if not isinstance(parsed, dict):
        raise invalid_request("Request body must be a JSON object.", code="invalid_type")
    return parsed, {}


def validate_body(operation: Operation, body: dict[str, Any], content_type: str = JSON) -> None:
    """The body against the official request schema: JSON as sent, a form with its fields typed and nested."""
    if not operation.request:
        return
    multipart = content_type.startswith("multipart/") and MULTIPART in operation.request
    media_type = MULTIPART if multipart else next(iter(operation.request))
    if schemas.request_checker(operation.id, media_type).is_valid(body):
        return  # the compiled verdict; the Python walk below only names what is wrong
    error = next(iter(schemas.request_validator(operation.id, media_type).iter_errors(body)), None)
    if error is not None:
        raise describe(error)


# --- generating and shaping the answer ---------------------------------------------------------------------


def _generate(operation: Operation, seed: bytes, schema: dict[str, Any] | None = None,
              label: str = "spec") -> dict[str, Any]:
    """A JSON answer valid against the operation's response schema (or ``schema``), drawn from the request's
    digest."""
    schema = schema or operation.response_schema
    if schema is None:
        return {}
    root = {"$defs": official_document()["$defs"], **schema}
    try:
        answer = jsongen.generate(root, rng(seed, label))
    except jsongen.SchemaUnsupported as failure:  # a schema the generator cannot satisfy is the mock's gap
        raise ApiError(501, f"The mock cannot generate an answer for {operation.method} {operation.path}: "
                       f"{failure}.", type="server_error", code="not_implemented") from None
    return answer if isinstance(answer, dict) else {"value": answer}


SETTLED = ("completed", "processed", "succeeded", "active", "ready", "available")
"""The status a new resource reports, the first its schema allows: the mock does no work to wait for."""
NOT_YET = ("error", "errors", "last_error", "incomplete_details", "status_details", "failed_at", "cancelled_at",
           "canceled_at", "expired_at", "cancelling_at", "finalizing_at", "in_progress_at", "started_at",
           "archived_at", "revoked_at")
"""Fields a settled resource has no value for yet: null where the schema allows it."""


def _shape(
    state: AppState, operation: Operation, answer: dict[str, Any], body: dict[str, Any], resource_id: str | None,
    params: dict[str, str] | None = None, uploads: dict[str, list[Upload]] | None = None,
) -> dict[str, Any]:
    """The generated answer made to say what the request said, where each change keeps it valid: the id, the
    request's own fields and path parameters (``thread_id``), an upload's name and size, the time now, a
    settled status and nothing in its error fields."""
    properties = schemas.properties(operation)
    now = state.identity.created()
    changes: dict[str, Any] = {}
    if resource_id is not None and "id" in properties:
        changes["id"] = resource_id
    if operation.example_object is not None and "object" in properties and operation.kind != LIST:
        changes["object"] = operation.example_object
    changes.update((key, value) for key, value in _tags(operation).items() if key not in changes)
    for key in ("created_at", "created"):
        if key in properties:
            changes[key] = _time(properties[key], now)
    changes.update((key, value) for key, value in (params or {}).items() if key in properties)
    changes.update((key, copy.deepcopy(value)) for key, value in body.items()
                   if key in properties and key not in ("id", "object"))
    upload = _single_upload(uploads or {})
    if upload is not None:
        described = (("filename", upload.filename), ("bytes", len(upload.data)), ("size_bytes", len(upload.data)),
                     ("mime_type", upload.content_type or "application/octet-stream"))
        changes.update((key, value) for key, value in described if key in properties)
    status = schemas.allowed(properties.get("status", {}))
    settled = next((value for value in SETTLED if value in status), None)
    if settled is not None:
        changes["status"] = settled
        if f"{settled}_at" in properties:
            changes[f"{settled}_at"] = now
    changes.update((key, None) for key in NOT_YET if key in answer)
    changes.update((key, _time(properties.get(key, {}), now)) for key, value in answer.items()
                   if key.endswith("_at") and key not in changes and type(value) in (int, str))
    shaped = {**answer, **changes}
    if not schemas.invalid(operation, shaped):
        return shaped
    kept = dict(answer)  # keep each change that leaves the answer valid
    for key, value in changes.items():
        trial = {**kept, key: value}
        if not schemas.invalid(operation, trial):
            kept = trial
    required = set(schemas.resolved(operation.response_schema or {}).get("required", []))
    for key in NOT_YET:  # an optional field that cannot be null is better left out than made up
        if kept.get(key) is not None and key not in required:
            del kept[key]
    return kept


def _tags(operation: Operation) -> dict[str, Any]:
    """The answer's ``type`` or ``object`` where its schema allows one value: the API always sends it, though
    an SDK's types may call it optional (Anthropic's ``"type": "file_deleted"``)."""
    properties = schemas.properties(operation)
    found = {}
    for key in ("type", "object"):
        values = [value for value in schemas.allowed(properties.get(key, {})) if value is not None]
        if len(values) == 1:
            found[key] = values[0]
    return found


def page(operation: Operation, seed: bytes, ids: list[str], load: Callable[[str], dict[str, Any] | None],
         call: Call) -> dict[str, Any]:
    """One page of the resources ``ids`` names (oldest first) as the operation's list object: ``order``,
    ``after`` (or ``after_id``, or a ``page`` token: the id the page starts after), ``before`` (or
    ``before_id``: the page ends there) and ``limit``; only the page's own resources are read (``load``)."""
    query = call.request.query_params
    order = query.get("order") or (operation.query("order") or {}).get("schema", {}).get("default", "desc")
    if order not in ("asc", "desc"):
        order = "desc"  # an order by another key (Anthropic's ``order_by``) keeps the newest first
    limit = _limit(query.get("limit"), operation)
    ordered = ids[::-1] if order != "asc" else ids
    after = query.get("after") or query.get("after_id") or query.get("page")
    before = query.get("before") or query.get("before_id")
    start = ordered.index(after) + 1 if after in ordered else 0
    end = ordered.index(before) if before in ordered else len(ordered)
    page = ordered[start:end]
    if before in ordered and after not in ordered:  # the page just before the cursor
        page = page[-limit:]
    window = [item for item in map(load, page[:limit]) if item is not None]
    answer = _generate(operation, seed)
    properties = schemas.properties(operation)
    listed: dict[str, Any] = {key: value for key, value in answer.items() if key in properties}
    listed["data"] = window
    if "object" in properties and not schemas.allowed(properties["object"]):  # a page the schema does not name
        listed["object"] = "list"
    more = len(page) > limit or (before in ordered and after not in ordered and start < end - limit)
    for key, value in (("first_id", window[0].get("id") if window else None),
                       ("last_id", window[-1].get("id") if window else None), ("has_more", more),
                       ("next_page", window[-1].get("id") if window and len(page) > limit else None),
                       ("prev_page", None)):
        if key in properties:
            listed[key] = value
    return listed


def _limit(raw: str | None, operation: Operation) -> int:
    if raw is None:
        default = (operation.query("limit") or {}).get("schema", {}).get("default", DEFAULT_PAGE)
        return min(int(default), MAX_PAGE)
    limit = whole_number(raw)
    if limit is None:
        raise invalid_request(f"Invalid 'limit': expected a whole number, got '{raw[:40]}'.", param="limit",
                              code="invalid_value")
    maximum = (operation.query("limit") or {}).get("schema", {}).get("maximum")
    if isinstance(maximum, int) and limit > maximum:
        raise invalid_request(f"Invalid 'limit': integer above maximum value. Expected a value <= {maximum}, but "
                              f"got {raw} instead.", param="limit", code="integer_above_max_value")
    return min(limit, MAX_PAGE)


def _missing(state: AppState, operation: Operation, resource_id: str, seed: bytes) -> dict[str, Any]:
    """A 404 in OpenAI's words; with ``--validation schema``, a resource made up for the id instead."""
    if not state.checks.synthesize_missing:
        raise ApiError(404, f"No {_noun(operation.collection)} found with id '{resource_id}'.",
                       param=_item_parameter(operation), code="not_found")
    made = _generate(operation, seed)
    if "id" in made:
        made["id"] = resource_id
    return made


def _require_parent(state: AppState, operation: Operation, params: dict[str, str]) -> None:
    """A nested collection needs its parent (``/vector_stores/{id}/files`` its vector store), where the spec
    lets clients create that parent; otherwise a 404, as for the parent itself."""
    segments = operation.collection.strip("/").split("/")
    if len(segments) < 3 or not segments[-2].startswith("{") or state.checks.synthesize_missing:
        return
    parent_collection = "/" + "/".join(segments[:-2])
    if parent_collection not in _creatable(operation.api):
        return
    parent_parameter = segments[-2].strip("{}")
    parent_id = params[parent_parameter]
    if state.stores.resources.get(operation.store + _concrete(parent_collection, params), parent_id) is None:
        raise ApiError(404, f"No {_noun(parent_collection)} found with id '{parent_id}'.", param=parent_parameter,
                       code="not_found")


@cache
def _creatable(api: str) -> frozenset[str]:
    return frozenset(operation.collection for operation in load_operations(api) if operation.kind == CREATE)


def _time(schema: dict[str, Any], now: int) -> int | str:
    """The time now as a property holds it: a Unix time, or an RFC 3339 string (Anthropic's)."""
    schema = schemas.resolved(schema)
    branches = [schema, *map(schemas.resolved, schema.get("anyOf", []) + schema.get("oneOf", []))]
    if any(branch.get("format") == "date-time" for branch in branches):
        return datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")
    return now


def _new_id(state: AppState, operation: Operation, body: dict[str, Any], seed: bytes, *, kept: bool = True) -> str:
    """A new resource's id: the real API's prefix and a seeded tail; a file attached to a collection of files
    (``/vector_stores/{id}/files``) keeps its file's id, as there. A resource the engine keeps gets an id no
    identical create shares, even with time frozen; a call's answer (``kept=False``) is a function of the call."""
    if operation.collection.endswith("/files") and isinstance(body.get("file_id"), str):
        return body["file_id"]
    prefix = operation.id_prefix or _fallback_prefix(operation.collection)
    salt = state.identity.resource_salt(seed) if kept else state.identity.salt(seed)
    return Identity.make_id(prefix, salt, 24)


def _fallback_prefix(collection: str) -> str:
    word = collection.rstrip("/").rsplit("/", 1)[-1].removesuffix("s")
    return (word or "obj") + "_"


def _bytes_answer(operation: Operation, body: dict[str, Any], material: bytes) -> Response:
    """A call whose answer is bytes the spec says nothing more of: the seeded text its media type allows."""
    media_type = next(iter(operation.response_media), "text/plain")
    if media_type == JSON:  # a JSON string, as the spec types some downloads
        return json_response(material.hex(), operation.status)
    return Response(material.hex().encode(), status_code=operation.status, media_type=media_type)


def _stream(operation: Operation, seed: bytes) -> Response:
    """A stream the spec says no more of than its events' schema: a few events generated from it."""
    schema = operation.response_media[SSE]
    events = [_generate(operation, seed, schema, f"event{index}") for index in range(STREAM_EVENTS)]
    return FramesResponse([event_frame(event, named=False) for event in events])


def _answer(operation: Operation, answer: dict[str, Any]) -> Response:
    return json_response(answer, operation.status)


# --- schema and path helpers --------------------------------------------------------------------------------


def _noun(collection: str) -> str:
    """``/vector_stores`` -> ``vector store``: what a 404 calls one of the collection's resources."""
    return collection.rstrip("/").rsplit("/", 1)[-1].removesuffix("s").replace("_", " ")


def _item_parameter(operation: Operation) -> str:
    """The path parameter naming the resource an item operation is about."""
    segments = operation.segments
    last = segments[-1] if segments[-1].startswith("{") else segments[-2]
    return last.strip("{}")


def _concrete(template: str, params: dict[str, str]) -> str:
    for name, value in params.items():
        template = template.replace("{" + name + "}", value)
    return template


def _file_digests(uploads: dict[str, list[Upload]]) -> dict[str, list[str]]:
    return {name: [upload.sha256() for upload in found] for name, found in uploads.items()}


def _single_upload(uploads: dict[str, list[Upload]]) -> Upload | None:
    files = [upload for found in uploads.values() for upload in found]
    return files[0] if len(files) == 1 else None

