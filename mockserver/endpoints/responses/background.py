"""Background responses: ``queued`` → ``in_progress`` → ``completed``, polled with ``GET /responses/{id}``.

The answer is made when the request arrives (the same one a foreground request gets) and kept in the
response's life; the stored response shows it once ``completed`` is reached. ``cancel`` stops a background
response (``cancelled``); a response that did not run in the background cannot be cancelled, as there.
"""

from __future__ import annotations

import copy

from mockserver.endpoints.engine.lifecycle import Lifecycle, Progress
from mockserver.errors import invalid_request

BACKGROUND_PATH = ["queued", "in_progress", "completed"]


async def begin(progress: Progress) -> None:
    response = progress.resource
    if not response.get("background"):
        progress.life["path"] = [response["status"]]
        return
    progress.plan["answer"] = copy.deepcopy(response)
    progress.life["path"] = list(BACKGROUND_PATH)
    response.update(output=[], output_text="", completed_at=None, incomplete_details=None)
    response.pop("usage", None)


async def reach(progress: Progress, status: str) -> None:
    if status == "completed" and "answer" in progress.plan:
        progress.resource.clear()
        progress.resource.update(progress.plan["answer"])


async def cancel(progress: Progress) -> None:
    response = progress.resource
    if not response.get("background"):
        raise invalid_request("Only responses created with background: true can be cancelled.", param="response_id",
                              code="invalid_state")
    if response.get("status") in ("queued", "in_progress"):
        response["status"] = "cancelled"
        progress.life["stopped"] = True


LIFECYCLE = Lifecycle("/responses", ("completed",), begin=begin, reach=reach, actions={"cancel": cancel})
