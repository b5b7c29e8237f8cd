"""Fine-tuning jobs: ``validating_files`` → ``queued`` → ``running`` → ``succeeded``, making a model.

The training file must be an uploaded file; the job trains on its tokens for ``n_epochs`` (3 when
``auto``). Each status adds the events the real API logs (``/fine_tuning/jobs/{id}/events``); at
``succeeded`` the job has its ``fine_tuned_model`` (``ft:{model}:mockserver:{suffix}:{id}``), a
checkpoint per epoch, a metrics result file, and the model is served: it is listed by
``GET /models``, answers chat, and ``DELETE /models/{id}`` removes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver.determinism import Identity, rng
from mockserver.endpoints.engine.lifecycle import Lifecycle, Progress, cancelling, life_of, status_now
from mockserver.errors import invalid_request
from mockserver.generation.tokens import encoding_for_model, tokenizer

if TYPE_CHECKING:
    from mockserver.app.state import AppState

JOBS = "/fine_tuning/jobs"
ORGANIZATION = "mockserver"
DEFAULT_EPOCHS = 3
STEPS_PER_EPOCH = 10


async def begin(progress: Progress) -> None:
    job, state, body = progress.resource, progress.state, progress.request.body
    training_file = str(body.get("training_file"))
    content = state.stores.resources.content(training_file)
    if content is None and not state.checks.synthesize_missing:
        raise invalid_request(f"invalid training_file: {training_file}. No file found with this id.",
                              param="training_file", code="invalid_value")
    model = str(body.get("model"))
    suffix = body.get("suffix") if isinstance(body.get("suffix"), str) else ""
    tail = Identity.make_id("", job["id"].encode(), 8)
    epochs = _epochs(body)
    tokens = tokenizer(encoding_for_model(model)).count((content or b"").decode("utf-8", "replace"))
    progress.plan.update(model_id=f"ft:{model}:{ORGANIZATION}:{suffix}:{tail}", epochs=epochs,
                         trained_tokens=tokens * epochs)
    job.update(model=model, training_file=training_file, fine_tuned_model=None, finished_at=None,
               trained_tokens=None, result_files=[], error=None, estimated_finish=progress.at("succeeded"))


def _epochs(body: dict[str, Any]) -> int:
    method: dict[str, Any] = body["method"] if isinstance(body.get("method"), dict) else {}
    settings = [body.get("hyperparameters")] + [
        (method.get(kind) or {}).get("hyperparameters") for kind in ("supervised", "dpo", "reinforcement")
        if isinstance(method.get(kind), dict)]
    for given in settings:
        if isinstance(given, dict) and isinstance(given.get("n_epochs"), int):
            return int(given["n_epochs"])
    return DEFAULT_EPOCHS


async def reach(progress: Progress, status: str) -> None:
    job = progress.resource
    if status == "validating_files":
        _event(progress, status, f"Validating training file: {job.get('training_file')}")
    elif status == "queued":
        _event(progress, status, "Files validated, moving job to queued state")
    elif status == "running":
        _event(progress, status, "Fine-tuning job started")
    elif status == "succeeded":
        _succeed(progress)


def _succeed(progress: Progress) -> None:
    job, plan = progress.resource, progress.plan
    draw = rng(job["id"].encode(), "training")
    epochs = int(plan["epochs"])
    steps = epochs * STEPS_PER_EPOCH
    loss = draw.uniform(1.5, 2.5)
    rows = ["step,train_loss,train_accuracy"]
    for step in range(1, steps + 1):
        loss *= draw.uniform(0.86, 0.98)
        accuracy = min(0.99, 1.0 - loss / 3)
        rows.append(f"{step},{loss:.5f},{accuracy:.5f}")
        metrics = {"step": step, "train_loss": round(loss, 5), "train_mean_token_accuracy": round(accuracy, 5),
                   "total_steps": steps}
        _event(progress, "succeeded", f"Step {step}/{steps}: training loss={loss:.2f}", "metrics", metrics)
        if step % STEPS_PER_EPOCH == 0:
            _checkpoint(progress, step, metrics, final=step == steps)
    result = _result_file(progress, "\n".join(rows) + "\n")
    _event(progress, "succeeded", f"New fine-tuned model created: {plan['model_id']}")
    _event(progress, "succeeded", "The job has successfully completed")
    job.update(fine_tuned_model=plan["model_id"], finished_at=progress.at("succeeded"),
               trained_tokens=plan["trained_tokens"], result_files=[result], estimated_finish=None)


def _event(progress: Progress, status: str, message: str, kind: str = "message",
           data: dict[str, Any] | None = None) -> None:
    job = progress.resource
    collection = f"{JOBS}/{job['id']}/events"
    resources = progress.state.stores.resources
    number = progress.plan["events"] = int(progress.plan.get("events", 0)) + 1
    event_id = Identity.make_id("ftevent-", f"{job['id']}:{number}".encode(), 24)
    resources.put(collection, event_id, {"object": "fine_tuning.job.event", "id": event_id,
                                         "created_at": progress.at(status), "level": "info", "message": message,
                                         "type": kind, "data": data or {}})


def _checkpoint(progress: Progress, step: int, metrics: dict[str, Any], *, final: bool) -> None:
    job, plan = progress.resource, progress.plan
    model = plan["model_id"] if final else f"{plan['model_id']}:ckpt-step-{step}"
    checkpoint = {"object": "fine_tuning.job.checkpoint",
                  "id": Identity.make_id("ftckpt_", f"{job['id']}:{step}".encode(), 24),
                  "created_at": progress.at("succeeded"), "fine_tuned_model_checkpoint": model, "step_number": step,
                  "metrics": {key: value for key, value in metrics.items() if key != "total_steps"},
                  "fine_tuning_job_id": job["id"]}
    progress.state.stores.resources.put(f"{JOBS}/{job['id']}/checkpoints", checkpoint["id"], checkpoint)


def _result_file(progress: Progress, csv: str) -> str:
    job = progress.resource
    file_id = Identity.make_id("file-", f"{job['id']}:results".encode(), 22)
    data = csv.encode()
    resources = progress.state.stores.resources
    resources.put("/files", file_id, {"id": file_id, "object": "file", "bytes": len(data),
                                      "created_at": progress.at("succeeded"), "filename": "step_metrics.csv",
                                      "purpose": "fine-tune-results", "status": "processed"})
    resources.put_content(file_id, data)
    return file_id


def fine_tuned_models(state: AppState) -> dict[str, dict[str, Any]]:
    """The models fine-tuning jobs have made so far (and nobody deleted), as ``Model`` objects by id."""
    models = {}
    for job in state.stores.resources.items(JOBS):
        life = life_of(state, JOBS, job["id"]) or {}
        if status_now(state, JOBS, job, life) != "succeeded":
            continue
        model_id = job.get("fine_tuned_model") or (life.get("plan") or {}).get("model_id")
        if isinstance(model_id, str):
            models[model_id] = {"id": model_id, "object": "model", "created": job.get("finished_at") or job.get(
                "created_at"), "owned_by": f"user-{ORGANIZATION}"}
    return models


LIFECYCLE = Lifecycle(JOBS, ("validating_files", "queued", "running", "succeeded"), begin=begin, reach=reach,
                      actions={"cancel": cancelling(None)})
