"""Uploads: a large file sent in parts, ``pending`` until ``complete`` assembles it.

``POST /uploads`` declares the file (``filename``, ``purpose``, ``bytes``, ``mime_type``); each
``POST /uploads/{id}/parts`` keeps one part's bytes and answers its ``upload.part``; ``complete``
joins the parts in the order of ``part_ids`` (each named once) into an uploaded file (``/files``,
content and all), which the upload then carries as ``file``, once their size (counted before anything is
joined) is the declared ``bytes`` (and the MD5, when given, theirs). ``cancel`` ends it; a finished upload
takes no more parts.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from mockserver.determinism import Identity
from mockserver.endpoints.engine.lifecycle import Lifecycle, Progress, cancelling
from mockserver.errors import invalid_request


def _pending(progress: Progress) -> None:
    status = progress.resource.get("status")
    if status != "pending":
        raise invalid_request(f"The upload is {status} and takes no more changes.", param="upload_id",
                              code="invalid_state")


async def begin(progress: Progress) -> None:
    progress.resource.update(file=None, status="pending")
    progress.plan["parts"] = []


async def add_part(progress: Progress) -> None:
    _pending(progress)
    upload, plan = progress.resource, progress.plan
    part = progress.request.upload("data")
    if part is None:
        raise invalid_request("Missing required parameter: 'data'.", param="data", code="missing_required_parameter")
    part_id = Identity.make_id("part_", f"{upload['id']}:{len(plan.get('parts', []))}".encode(), 24)
    progress.state.stores.resources.put_content(part_id, part.data)
    plan.setdefault("parts", []).append(part_id)
    progress.answer = {"id": part_id, "object": "upload.part", "created_at": progress.state.identity.created(),
                       "upload_id": upload["id"]}


async def complete(progress: Progress) -> None:
    _pending(progress)
    upload, plan, body = progress.resource, progress.plan, progress.request.body
    resources = progress.state.stores.resources
    part_ids = [str(part_id) for part_id in body.get("part_ids") or []]
    unknown = [part_id for part_id in part_ids if part_id not in plan.get("parts", [])]
    if unknown:
        raise invalid_request(f"Unknown part ids for this upload: {unknown[:10]}.", param="part_ids",
                              code="invalid_value")
    repeated = sorted(part_id for part_id, named in Counter(part_ids).items() if named > 1)
    if repeated:
        raise invalid_request(f"Each part may be named once; named again: {repeated[:10]}.", param="part_ids",
                              code="invalid_value")
    parts = [resources.content(part_id) or b"" for part_id in part_ids]
    # The size is checked before anything is joined: the parts never become a file larger than declared.
    size = sum(len(part) for part in parts)
    if size != upload.get("bytes"):
        raise invalid_request(f"The parts hold {size} bytes; the upload was created for {upload.get('bytes')}.",
                              param="part_ids", code="invalid_value")
    data = b"".join(parts)
    if isinstance(body.get("md5"), str) and body["md5"] != hashlib.md5(data).hexdigest():
        raise invalid_request("The md5 of the parts does not match the one given.", param="md5", code="invalid_value")
    file_id = Identity.make_id("file-", f"{upload['id']}:file".encode(), 22)
    made = {"id": file_id, "object": "file", "bytes": len(data), "created_at": progress.state.identity.created(),
            "filename": upload.get("filename"), "purpose": upload.get("purpose"), "status": "processed"}
    resources.put("/files", file_id, made)
    resources.put_content(file_id, data)
    upload.update(status="completed", file=made)
    progress.life["stopped"] = True


LIFECYCLE = Lifecycle("/uploads", ("pending",), begin=begin,
                      actions={"parts": add_part, "complete": complete, "cancel": cancelling(None)})
