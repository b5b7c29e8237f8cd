"""Message batches: ``/v1/messages/batches`` (create, list), ``/{id}`` (retrieve, delete), ``/{id}/cancel`` and
``/{id}/results``.

A batch is ``in_progress`` from its creation until the job schedule's completion time (``--job-schedule``, on the
mock's clock: ``MockServer.advance`` or ``POST /_mock/clock`` moves it), then ``ended``: the first read after
that answers every request as ``POST /v1/messages`` would (the same generator, the API's rules; a request the
rules refuse is ``errored`` with its error), a slice at a time so the event loop keeps turning, and keeps the
results as JSONL for ``/results``. A batch canceled before it ends is ``canceling``, then ``ended`` with every
request ``canceled``. Only an ended batch can be deleted. Lists are newest first, paged by ``before_id``,
``after_id`` and ``limit``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio.lowlevel
import orjson
from starlette.responses import Response

from mockserver.asgi.outgoing import json_response
from mockserver.control.decision import NOTHING, Decision
from mockserver.determinism import Identity, digest
from mockserver.endpoints.anthropic import encode
from mockserver.endpoints.anthropic.conversation import invalid
from mockserver.endpoints.anthropic.messages import answer
from mockserver.endpoints.anthropic.paging import page_limit
from mockserver.endpoints.anthropic.wire import envelope, error_type, worded
from mockserver.endpoints.base import Call
from mockserver.errors import ApiError

if TYPE_CHECKING:
    from mockserver.app.state import AppState
    from mockserver.dialects.dialect import Dialect

COLLECTION = "/anthropic/messages/batches"
EXPIRES_SECONDS = 24 * 3600
SLICE = 32
"""Requests answered between two turns of the event loop when a batch ends."""
MAX_REQUESTS = 100_000
RESULTS_MEDIA_TYPE = "application/x-jsonl"


async def create_batch(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    requests = body["requests"]
    if not 1 <= len(requests) <= MAX_REQUESTS:
        raise invalid(f"requests: a batch holds 1 to {MAX_REQUESTS:,} requests, got {len(requests):,}")
    seen: set[str] = set()
    for index, request in enumerate(requests):
        if request["custom_id"] in seen:
            raise invalid(f"requests.{index}.custom_id: duplicate custom_id {request['custom_id']!r}; each request "
                          "of a batch needs its own")
        seen.add(request["custom_id"])
    now = state.clock.now()
    batch_id = Identity.make_id("msgbatch_01", state.identity.resource_salt(digest(body, state.config.seed)), 22)
    batch = {"id": batch_id, "type": "message_batch", "processing_status": "in_progress",
             "request_counts": _counts(processing=len(requests)), "created_at": _stamp(now),
             "expires_at": _stamp(now + EXPIRES_SECONDS), "ended_at": None, "cancel_initiated_at": None,
             "archived_at": None, "results_url": None,
             "_born": now, "_requests": requests}
    state.stores.resources.put(COLLECTION, batch_id, batch)
    return json_response(_public(batch))


async def retrieve_batch(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    return json_response(_public(await _current(state, call, _found(state, call))))


async def list_batches(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    query = call.request.query_params
    limit = page_limit(query)
    batches = list(reversed(state.stores.resources.items(COLLECTION)))
    ids = [batch["id"] for batch in batches]
    start, end = 0, len(batches)
    if query.get("after_id") in ids:
        start = ids.index(query["after_id"]) + 1
    if query.get("before_id") in ids:
        end = ids.index(query["before_id"])
        start = max(start, end - limit)
    page = [_public(await _current(state, call, batch)) for batch in batches[start:min(end, start + limit)]]
    return json_response({"data": page, "has_more": start + len(page) < end,
                          "first_id": page[0]["id"] if page else None, "last_id": page[-1]["id"] if page else None})


async def cancel_batch(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    batch = await _current(state, call, _found(state, call))
    if batch["processing_status"] == "in_progress":
        batch["processing_status"] = "canceling"
        batch["cancel_initiated_at"] = _stamp(state.clock.now())
        state.stores.resources.put(COLLECTION, batch["id"], batch)
    return json_response(_public(batch))


async def delete_batch(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    batch = await _current(state, call, _found(state, call))
    if batch["processing_status"] != "ended":
        raise invalid(f"Batch {batch['id']} cannot be deleted while it is still processing: cancel it, or wait "
                      "until its processing_status is ended.")
    state.stores.resources.delete(COLLECTION, batch["id"])
    return json_response({"id": batch["id"], "type": "message_batch_deleted"})


async def batch_results(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    batch = await _current(state, call, _found(state, call))
    if batch["processing_status"] != "ended":
        raise invalid(f"Batch {batch['id']} has not ended yet: its results are ready once its processing_status "
                      "is ended.")
    results = state.stores.resources.content(batch["id"]) or b""
    return Response(results, media_type=RESULTS_MEDIA_TYPE)


def _found(state: AppState, call: Call) -> dict[str, Any]:
    batch_id = call.request.path_params["message_batch_id"]
    batch = state.stores.resources.get(COLLECTION, batch_id)
    if batch is not None:
        return batch
    if not state.checks.synthesize_missing:
        raise ApiError(404, f"message_batch_id: no message batch with id {batch_id!r}")
    now = state.clock.now()  # --validation schema: a made-up batch, ended with no requests
    made = {"id": batch_id, "type": "message_batch", "processing_status": "ended", "request_counts": _counts(),
            "created_at": _stamp(now), "expires_at": _stamp(now + EXPIRES_SECONDS), "ended_at": _stamp(now),
            "cancel_initiated_at": None, "archived_at": None, "results_url": None, "_born": now, "_requests": []}
    return state.stores.resources.put(COLLECTION, batch_id, made)


async def _current(state: AppState, call: Call, batch: dict[str, Any]) -> dict[str, Any]:
    """The batch as the clock finds it: ended, with its results kept, once its time has come (or it was
    canceled)."""
    status = batch["processing_status"]
    due = batch["_born"] + state.config.job_steps[1] <= state.clock.now()
    if status == "ended" or (status == "in_progress" and not due):
        if status == "ended" and batch["results_url"] is None:
            batch["results_url"] = f"{call.origin}{_prefix(call)}/messages/batches/{batch['id']}/results"
        return batch
    canceled = status == "canceling"
    lines, counts = [], _counts()
    for index, request in enumerate(batch["_requests"]):
        result = {"type": "canceled"} if canceled else await _result(state, call.dialect, request["params"])
        counts[result["type"]] += 1
        lines.append(orjson.dumps({"custom_id": request["custom_id"], "result": result}))
        if index % SLICE == SLICE - 1:
            await anyio.lowlevel.checkpoint()
    latest = state.stores.resources.get(COLLECTION, batch["id"])
    if latest is None or latest["processing_status"] == "ended":  # deleted, or ended by another read meanwhile
        return latest or batch
    state.stores.resources.put_content(batch["id"], b"\n".join(lines) + (b"\n" if lines else b""))
    batch.update(processing_status="ended", request_counts=counts, ended_at=_stamp(state.clock.now()),
                 results_url=f"{call.origin}{_prefix(call)}/messages/batches/{batch['id']}/results")
    state.stores.resources.put(COLLECTION, batch["id"], batch)
    return batch


async def _result(state: AppState, dialect: Dialect, params: dict[str, Any]) -> dict[str, Any]:
    try:
        turn, _ = await answer(state, dialect, params, NOTHING, len(orjson.dumps(params)))
    except ApiError as error:
        return {"type": "errored", "error": envelope(worded(error), error_type(error))}
    return {"type": "succeeded", "message": encode.message(turn)}


def _prefix(call: Call) -> str:
    """The mount the request came in on (``/v1`` or ``/anthropic/v1``)."""
    path = call.request.url.path
    return path[: path.index("/messages/batches")]


def _counts(**given: int) -> dict[str, int]:
    return {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0, **given}


def _public(batch: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in batch.items() if not key.startswith("_")}


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).isoformat().replace("+00:00", "Z")


__all__ = ["batch_results", "cancel_batch", "create_batch", "delete_batch", "list_batches",
           "retrieve_batch"]
