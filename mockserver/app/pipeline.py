"""The one request pipeline: parse → validate → decide → generate → encode.

Every endpoint of every dialect is an :class:`~mockserver.endpoints.base.Endpoint`
run by :func:`make_route_handler`. The handler only generates; authentication,
body parsing, schema validation, the control plane's decision and the common
response headers happen here, once, for all of them. Errors are raised as
:class:`~mockserver.errors.ApiError` anywhere below and answered here, in the
provider's envelope.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio.lowlevel
import anyio.to_thread
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from mockserver.asgi.body import read_json
from mockserver.asgi.context import context_of, key_id, new_outcome
from mockserver.asgi.outgoing import add_headers
from mockserver.cassettes.library import Asked
from mockserver.control.decision import NOTHING
from mockserver.dialects.dialect import Dialect
from mockserver.endpoints.base import Endpoint, new_call
from mockserver.errors import ApiError, invalid_request
from mockserver.services.chat import LARGE_BODY
from mockserver.validation import require_object

if TYPE_CHECKING:
    from mockserver.app.state import AppState

# What a handler raises when a body nobody checked (--validation off) has a shape it cannot use.
UNCHECKED_BODY_FAILURES = (AttributeError, IndexError, KeyError, TypeError, ValueError)


def make_route_handler(
    state: AppState, dialect: Dialect, endpoint: Endpoint
) -> Callable[[Request], Awaitable[Response]]:
    """The handler that runs ``endpoint`` of ``dialect`` through the pipeline; it leaves its :class:`Outcome` on
    the request's context for the wire layer to journal."""

    async def run(request: Request) -> Response:
        started = time.perf_counter()
        context = context_of(request.scope)
        context.dialect = dialect.name
        context.endpoint = endpoint.name
        context.generation = endpoint.generation
        call = new_call(request, dialect, endpoint, context, started)
        headers: dict[str, str] = {}
        body: Any = None
        decision = NOTHING
        asked: Asked | None = None
        error_code = None
        refused_by = None  # what refused the request before the control plane saw it
        decided = False
        api_key = context.api_key
        if not api_key and dialect.key_header is not None:
            api_key = context.header(dialect.key_header) or ""
        if not api_key and dialect.key_query is not None:
            api_key = request.query_params.get(dialect.key_query) or ""
        try:
            state.keys.authenticate(api_key, dialect, endpoint.generation)
            if dialect.version_header is not None and context.header(dialect.version_header) is None:
                raise invalid_request(f"{dialect.version_header}: header is required")
            body = await read_json(request, state.config.max_body, any_content_type=dialect.any_content_type) \
                if endpoint.reads_body else None
            if endpoint.schema is not None and state.checks.schema:
                state.validator(endpoint.schema, dialect.name).validate(body)
                if context.body_bytes > LARGE_BODY:  # a large body's walk took its time: let others in
                    await anyio.lowlevel.checkpoint()
            elif endpoint.reads_body:
                require_object(body)
                if endpoint.validate is not None and state.checks.schema:
                    if context.body_bytes > LARGE_BODY:  # the official schema's walk of a large body: off the loop
                        await anyio.to_thread.run_sync(endpoint.validate, body, limiter=state.heavy_work)
                    else:
                        endpoint.validate(body)
                if endpoint.lenient is not None and not state.checks.schema:
                    body = endpoint.lenient(body)  # --validation off: what generation can use of any body
            decision = await state.control.decide(context, body)
            decided = True
            headers = endpoint.wire.own_headers(decision.headers) if decision.headers else decision.headers
            if decision.faults:
                context.faults = decision.faults
            if decision.error is not None:
                raise decision.error
            replay = None
            if (endpoint.generation and endpoint.reads_body and decision.script is None  # a script outranks a tape
                    and state.cassettes.in_use):
                asked = Asked(request, dialect, context.test_id or state.control.default_test_id,
                              chat_view=endpoint.chat_view)
                replay = await state.cassettes.answer(asked, body)
            response = replay or await endpoint.handler(state, call, body, decision)
        except ApiError as error:
            error_code = error.code
            if not decided:
                refused_by = "key policy" if error.status in (401, 403) else "validation"
            response = endpoint.wire.error(error)
        except ClientDisconnect:
            context.client_gone = True  # the wire layer drops the answer and journals client_disconnect
            return Response(status_code=499)
        except UNCHECKED_BODY_FAILURES as failure:
            if state.checks.schema:
                raise
            unusable = _unusable(failure)
            error_code = unusable.code
            refused_by = None if decided else "validation"
            response = endpoint.wire.error(unusable)
        finally:
            context.outcome = new_outcome(
                dialect=dialect.name, endpoint=endpoint.name, key_id=key_id(api_key),
                body=_journaled(body if call.read_body is None else call.read_body, context.body_preview is not None),
                decided_by=asked.answered_by if asked is not None and asked.answered_by else
                refused_by or decision.source,
                faults=decision.fault_labels, error_code=error_code,
                tokens_in=call.tokens[0] if call.tokens else None, tokens_out=call.tokens[1] if call.tokens else None,
                failure_frames=call.failure_frames, keep_alive=endpoint.wire.keep_alive,
            )
        wire = endpoint.wire
        present = add_headers(response, {**headers, **wire.stamp(int((time.perf_counter() - started) * 1000))})
        if wire.request_id_header.encode() not in present:
            request_id = state.identity.request_id(state.identity.salt(context.path.encode()))
            response.raw_headers.append((wire.request_id_header.encode(), request_id.encode("latin-1")))
        return response

    return run


def _journaled(body: Any, previewed: bool) -> Any:
    """What the journal needs of a body: all of it, or, for one too large to journal (it keeps the start of its
    text instead), only what it says of itself. The outcome outlives the request on a kept-alive connection, and
    must not hold a 30 MB body's objects until the next request comes."""
    if not previewed or not isinstance(body, dict):
        return body
    return {key: body[key] for key in ("model", "stream") if key in body}


def _unusable(failure: Exception) -> ApiError:
    """With ``--validation off`` a body generation cannot use is the client's mistake: a 400, never a 500."""
    return invalid_request(
        f"The mock could not use this request with --validation off ({type(failure).__name__}: {failure}). "
        "Send the fields with the types the endpoint documents (GET /openapi.json).",
        code="unusable_request",
    )
