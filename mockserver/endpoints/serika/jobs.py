"""Serika's asynchronous image jobs: ``POST /jobs/image`` and ``GET /jobs/{id}``.

No worker advances a job. Its status is read off the clock: ``queued`` until
``Config.job_steps[0]`` seconds after creation, ``processing`` until
``job_steps[1]``, then ``completed`` with the images in ``result``. Polling code
therefore sees every state on a schedule it can configure (``--job-schedule``), the
same on every run, and the result is drawn when it is asked for, from the stored
request, exactly as ``/images/generations`` would draw it.

The request is checked when the job is created, so a bad one fails at once with
the same 400 as ``/images/generations`` instead of as a failed job later.
"""

from __future__ import annotations

from math import ceil
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mockserver.asgi.outgoing import json_response
from mockserver.control.decision import Decision
from mockserver.determinism import Identity, digest
from mockserver.endpoints.base import Call, Endpoint
from mockserver.errors import ApiError
from mockserver.services.images import ImageOrder
from mockserver.storage import Job

if TYPE_CHECKING:
    from mockserver.app.state import AppState

QUEUED, PROCESSING, COMPLETED = "queued", "processing", "completed"


def job_status(elapsed: float, steps: tuple[float, float]) -> str:
    processing_at, completed_at = steps
    if elapsed >= completed_at:
        return COMPLETED
    return PROCESSING if elapsed >= processing_at else QUEUED


def job_object(job: Job, status: str, steps: tuple[float, float], result: dict[str, Any] | None) -> dict[str, Any]:
    """The job as the API shows it; ``started_at``/``completed_at`` appear once reached."""
    started = job.created_at + ceil(steps[0]) if status != QUEUED else None
    return {
        "id": job.id,
        "object": "job",
        "type": job.kind,
        "status": status,
        "created_at": job.created_at,
        "started_at": started,
        "completed_at": job.created_at + ceil(steps[1]) if status == COMPLETED else None,
        "model": job.request.get("model"),
        "prompt": job.request.get("prompt"),
        "result": result,
        "error": None,
    }


def _order(state: AppState, call: Call, request: dict[str, Any]) -> ImageOrder:
    return state.images.order(call.dialect, request, material={"prompt": request.get("prompt")})


async def create_image_job(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    _order(state, call, body)  # refuse a bad request now, with the 400 /images/generations gives
    salt = state.identity.salt(digest({"job": body}, state.config.seed))
    job = state.stores.jobs.create(Identity.make_id("job_", salt, 24), "image", body, state.identity.created())
    return json_response(job_object(job, QUEUED, state.config.job_steps, None))


async def retrieve_job(state: AppState, call: Call, body: Any, decision: Decision) -> Response:
    job_id = call.request.path_params["job_id"]
    job = state.stores.jobs.get(job_id)
    if job is None:
        raise ApiError(
            404,
            f"No job found with id '{job_id}'. Jobs live in the mock's memory unless it runs with --state-dir: "
            "without it they are gone after a restart.",
            code="job_not_found",
        )
    steps = state.config.job_steps
    status = job_status(state.clock.now() - job.born, steps)
    result = None
    if status == COMPLETED:
        finished = job.created_at + ceil(steps[1])
        order = _order(state, call, job.request)
        result = state.images.body(call.origin, order, finished, await state.images.draw(order))
    return json_response(job_object(job, status, steps, result))


ENDPOINTS = (
    Endpoint("jobs.create_image", "jobs", "POST", "/jobs/image", create_image_job, response="Job",
             schema="image_generation", generation=True),
    Endpoint("jobs.retrieve", "jobs", "GET", "/jobs/{job_id}", retrieve_job, response="Job", generation=True,
             reads_body=False),
)
