"""Vector stores: their files go ``in_progress`` → ``completed``, and the store's counts follow.

A file attached to a vector store (one by one, in a file batch, or by ``file_ids`` when the store
is created) must be an uploaded file; its ``usage_bytes`` are that file's bytes. A store's
``status``, ``file_counts`` and ``usage_bytes`` are read off its files whenever it is read:
``in_progress`` while any file is, then ``completed``. A file batch counts its own files.
"""

from __future__ import annotations

from typing import Any

from mockserver.endpoints.engine.lifecycle import Lifecycle, Progress, born, cancelling, status_now
from mockserver.errors import ApiError

FILE_PATH = ["in_progress", "completed"]
COUNTED = ("in_progress", "completed", "failed", "cancelled")
DEFAULT_CHUNKING = {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}


def _uploaded_bytes(progress: Progress, file_id: str) -> int:
    """The size of uploaded file ``file_id``: a 404 for a file that was never uploaded (made up under
    ``--validation schema``)."""
    state = progress.state
    found = state.stores.resources.get("/files", file_id)
    if found is None:
        if state.checks.synthesize_missing:
            return 0
        raise ApiError(404, f"No file found with id '{file_id}'.", param="file_id", code="not_found")
    content = state.stores.resources.content(file_id)
    return len(content) if content is not None else int(found.get("bytes") or 0)


def _attach(progress: Progress, store_id: str, file_id: str, collections: list[str]) -> None:
    size = _uploaded_bytes(progress, file_id)
    body = progress.request.body
    attached = {"id": file_id, "object": "vector_store.file", "usage_bytes": size,
                "created_at": progress.state.identity.created(), "vector_store_id": store_id, "status": FILE_PATH[0],
                "last_error": None, "chunking_strategy": _chunking(body.get("chunking_strategy"))}
    if isinstance(body.get("attributes"), dict):
        attached["attributes"] = body["attributes"]
    for collection in collections:
        born(progress.state, collection, dict(attached), FILE_PATH)


def _chunking(requested: Any) -> dict[str, Any]:
    if isinstance(requested, dict) and requested.get("type") == "static" and isinstance(requested.get("static"), dict):
        return {"type": "static", "static": requested["static"]}
    return DEFAULT_CHUNKING


def _file_ids(body: dict[str, Any]) -> list[str]:
    ids = [item for item in body.get("file_ids") or [] if isinstance(item, str)]
    ids += [item["file_id"] for item in body.get("files") or [] if isinstance(item, dict)
            and isinstance(item.get("file_id"), str)]
    return list(dict.fromkeys(ids))


async def begin_store(progress: Progress) -> None:
    store_id = progress.resource["id"]
    for file_id in _file_ids(progress.request.body):
        _attach(progress, store_id, file_id, [f"/vector_stores/{store_id}/files"])


def view_store(progress: Progress) -> None:
    """Status, counts and bytes from the store's files as they are now."""
    store = progress.resource
    collection = f"/vector_stores/{store.get('id')}/files"
    files = progress.state.stores.resources.items(collection)
    statuses = [status_now(progress.state, collection, attached) for attached in files]
    counts = {status: statuses.count(status) for status in COUNTED}
    store["file_counts"] = {**counts, "total": len(files)}
    store["usage_bytes"] = sum(int(attached.get("usage_bytes") or 0) for attached in files)
    if store.get("status") != "expired":
        store["status"] = "in_progress" if counts["in_progress"] else "completed"


async def begin_file(progress: Progress) -> None:
    attached = progress.resource
    attached["usage_bytes"] = _uploaded_bytes(progress, attached["id"])
    attached["last_error"] = None
    attached["chunking_strategy"] = _chunking(progress.request.body.get("chunking_strategy"))


async def begin_batch(progress: Progress) -> None:
    store_id = progress.request.params["vector_store_id"]
    batch = progress.resource
    file_ids = _file_ids(progress.request.body)
    for file_id in file_ids:
        _attach(progress, store_id, file_id, [f"/vector_stores/{store_id}/files",
                                              f"/vector_stores/{store_id}/file_batches/{batch['id']}/files"])
    progress.plan["files"] = len(file_ids)


def view_batch(progress: Progress) -> None:
    batch = progress.resource
    total = int(progress.plan.get("files", 0)) if progress.life else 0
    counts = dict.fromkeys(COUNTED, 0)
    if str(batch.get("status")) in counts:
        counts[str(batch["status"])] = total
    batch["file_counts"] = {**counts, "total": total}


LIFECYCLES = (
    Lifecycle("/vector_stores", (), begin=begin_store, view=view_store),
    Lifecycle("/vector_stores/{vector_store_id}/files", tuple(FILE_PATH), begin=begin_file),
    Lifecycle("/vector_stores/{vector_store_id}/file_batches", tuple(FILE_PATH), begin=begin_batch, view=view_batch,
              actions={"cancel": cancelling(None)}),
    Lifecycle("/vector_stores/{vector_store_id}/file_batches/{batch_id}/files", tuple(FILE_PATH)),
)
