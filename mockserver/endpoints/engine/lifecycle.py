"""Long-running resources of the spec engine, moving through their statuses on a schedule.

No worker advances them. A resource's status is read off the clock whenever it is read, like
Serika's jobs, and the same ``--job-schedule PROCESSING_AT,COMPLETED_AT`` (seconds after
creation, ``1,2`` by default) places the steps: the first status holds until ``PROCESSING_AT``,
the last is reached at ``COMPLETED_AT``, and those between share the time between. As a
resource reaches each status its :class:`Lifecycle`'s hook does what that status means (a batch
answers its input file's lines; a fine-tuning job makes its model; a run appends its reply).

A resource's life (its birth, its path of statuses, what was planned at its creation) is kept
beside it in the resource store, under :data:`LIVES`, so it is bounded, cleared by reset and
kept under ``--state-dir`` like the resource itself.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from mockserver.asgi.context import AUTHORIZATION_HEADER, CONTEXT_KEY, TEST_ID_HEADER, RequestContext
from mockserver.endpoints.engine.request import SpecRequest

if TYPE_CHECKING:
    from mockserver.app.state import AppState

LIVES = "/_mock/lives"


@dataclass
class Progress:
    """One resource as its lifecycle sees it: changed in place by the hooks, stored after them."""

    request: SpecRequest  # the request that is reading (or creating, or acting on) the resource
    collection: str  # the concrete collection: /vector_stores/vs_1/files
    resource: dict[str, Any]
    life: dict[str, Any]
    answer: dict[str, Any] | None = None  # what an action answers when it is not the resource (an upload's part)

    @property
    def state(self) -> AppState:
        return self.request.state

    @property
    def plan(self) -> dict[str, Any]:
        plan: dict[str, Any] = self.life.setdefault("plan", {})
        return plan

    def at(self, status: str) -> int:
        """The unix time the resource reached (or reaches) ``status``."""
        path = self.life["path"]
        return int(self.life.get("born_at", self.resource.get("created_at", 0))) + math.ceil(
            _offsets(path, self.state.config.job_steps)[path.index(status)])

    def divert(self, path: list[str]) -> None:
        """Take another path from the status reached (a batch whose input failed validation: ``failed``)."""
        self.life["path"] = path
        self.resource["status"] = path[self.life["reached"]]

    def restart(self, path: list[str]) -> None:
        """Go on from now along ``path`` (after ``submit_tool_outputs``, say)."""
        self.life.update(path=path, born=self.state.clock.now(), born_at=self.state.identity.created(),
                         reached=0)
        self.resource["status"] = path[0]


Hook = Callable[[Progress], Awaitable[None]]
StatusHook = Callable[[Progress, str], Awaitable[None]]


async def _nothing(progress: Progress) -> None:
    return None


async def _no_step(progress: Progress, status: str) -> None:
    return None


@dataclass(frozen=True)
class Lifecycle:
    collection: str  # the collection's path template: /batches, /vector_stores/{vector_store_id}/files
    statuses: tuple[str, ...]  # the path a new resource takes, unless ``begin`` plans another; () for none
    begin: Hook = _nothing  # at creation: check, plan, make what belongs to it
    reach: StatusHook = _no_step  # as each status of the path is reached, in order
    view: Callable[[Progress], None] | None = None  # at every read: fields derived from other resources
    actions: dict[str, Hook] = field(default_factory=dict)  # the lifecycle's own actions, by verb


def _offsets(path: list[str], steps: tuple[float, float]) -> list[float]:
    """When each status of ``path`` begins: the first at 0, the last at COMPLETED_AT, any between spread
    from PROCESSING_AT on."""
    processing_at, completed_at = steps
    middle = len(path) - 2
    if middle <= 0:
        return [0.0, completed_at][: len(path)]
    share = (completed_at - processing_at) / middle
    return [0.0] + [processing_at + share * index for index in range(middle)] + [completed_at]


def reached(elapsed: float, path: list[str], steps: tuple[float, float]) -> int:
    """The index of the status of ``path`` a resource is in ``elapsed`` seconds after its birth."""
    offsets = _offsets(path, steps)
    return max(index for index, offset in enumerate(offsets) if elapsed >= offset)


class Lifecycles:
    """The lifecycles by collection template, and what the engine asks of them."""

    def __init__(self, lifecycles: list[Lifecycle]) -> None:
        self._by_collection = {lifecycle.collection: lifecycle for lifecycle in lifecycles}

    def get(self, template: str) -> Lifecycle | None:
        return self._by_collection.get(template)

    async def begin(self, request: SpecRequest, template: str, collection: str, answer: dict[str, Any]) -> None:
        """A new resource starts its life: in its first status, with what its lifecycle plans."""
        lifecycle = self._by_collection.get(template)
        if lifecycle is None:
            return
        state = request.state
        if not lifecycle.statuses:  # a resource with no status of its own: made with what belongs to it
            progress = Progress(request, collection, answer, {})
            await lifecycle.begin(progress)
            if lifecycle.view is not None:
                lifecycle.view(progress)
            return
        life = {"path": list(lifecycle.statuses), "born": state.clock.now(),
                "born_at": answer.get("created_at", state.identity.created()), "reached": 0, "stopped": False}
        progress = Progress(request, collection, answer, life)
        await lifecycle.begin(progress)
        answer["status"] = life["path"][0]
        await lifecycle.reach(progress, life["path"][0])
        _keep_life(state, collection, answer["id"], life)
        await self._advance(lifecycle, progress)
        if lifecycle.view is not None:
            lifecycle.view(progress)

    async def current(self, request: SpecRequest, template: str, collection: str,
                      resource: dict[str, Any]) -> dict[str, Any]:
        """The resource as it is now: moved along its path to the status the clock says, and its view."""
        lifecycle = self._by_collection.get(template)
        if lifecycle is None:
            return resource
        state = request.state
        key = _life_key(collection, resource.get("id", ""))
        life = state.stores.resources.get(LIVES, key)
        if life is not None and self._due(state, life):
            # One request at a time moves it (in a fleet, one node): the others wait, then read where it got to.
            async with state.stores.leases.hold(key):
                life = state.stores.resources.get(LIVES, key) or life
                resource = state.stores.resources.get(collection, resource["id"]) or resource
                progress = Progress(request, collection, resource, life)
                if await self._advance(lifecycle, progress):
                    # The resource before its life: a reader that finds the life moved then finds the resource moved
                    # (it reads the resource first, the life after, and the resource again when they disagree).
                    state.stores.resources.put(collection, resource["id"], resource)
                    _keep_life(state, collection, resource["id"], life)
        elif life is not None and not life.get("stopped") and resource.get("status") != life["path"][life["reached"]]:
            # read before another request moved it (the life was read after): read it again
            resource = state.stores.resources.get(collection, resource["id"]) or resource
        if lifecycle.view is not None:
            lifecycle.view(Progress(request, collection, resource, life or {}))
        return resource

    async def act(self, request: SpecRequest, template: str, collection: str, resource: dict[str, Any],
                  verb: str) -> dict[str, Any] | None:
        """A lifecycle's own action (``submit_tool_outputs``): the resource after it; None when the lifecycle
        has no such action and the engine's generic one applies."""
        lifecycle = self._by_collection.get(template)
        action = lifecycle.actions.get(verb) if lifecycle is not None else None
        if lifecycle is None or action is None:
            return None
        state = request.state
        life = state.stores.resources.get(LIVES, _life_key(collection, resource["id"]))
        if life is None:  # a resource made up for an unknown id (--validation schema): the generic action
            return None
        async with state.stores.leases.hold(_life_key(collection, resource["id"])):
            life = state.stores.resources.get(LIVES, _life_key(collection, resource["id"])) or life
            resource = state.stores.resources.get(collection, resource["id"]) or resource
            progress = Progress(request, collection, resource, life)
            await action(progress)
            await self._advance(lifecycle, progress)
            state.stores.resources.put(collection, resource["id"], resource)  # before its life, as in current()
            _keep_life(state, collection, resource["id"], life)
        if lifecycle.view is not None:
            lifecycle.view(progress)
        return progress.answer if progress.answer is not None else resource

    def stop(self, state: AppState, collection: str, resource_id: str) -> None:
        """The resource's status was set by an action (``cancel``): it stays there."""
        key = _life_key(collection, resource_id)
        life = state.stores.resources.get(LIVES, key)
        if life is not None:
            state.stores.resources.put(LIVES, key, {**life, "stopped": True})

    def forget(self, state: AppState, collection: str, resource_id: str) -> None:
        key = _life_key(collection, resource_id)
        if state.stores.resources.get(LIVES, key) is not None:
            state.stores.resources.delete(LIVES, key)

    @staticmethod
    def _due(state: AppState, life: dict[str, Any]) -> bool:
        """Whether the clock says the resource has a step to take."""
        now = reached(state.clock.now() - life["born"], life["path"], state.config.job_steps)
        return not life.get("stopped") and life["reached"] < now

    async def _advance(self, lifecycle: Lifecycle, progress: Progress) -> bool:
        life = progress.life
        moved = False
        while not life.get("stopped"):
            path = life["path"]
            now = reached(progress.state.clock.now() - life["born"], path, progress.state.config.job_steps)
            if life["reached"] >= now:
                break
            life["reached"] += 1
            status = path[life["reached"]]
            progress.resource["status"] = status
            await lifecycle.reach(progress, status)  # which may divert the path
            moved = True
        return moved


def _life_key(collection: str, resource_id: str) -> str:
    return f"{collection}\n{resource_id}"


def _keep_life(state: AppState, collection: str, resource_id: str, life: dict[str, Any]) -> None:
    state.stores.resources.put(LIVES, _life_key(collection, resource_id), life)


def cancelling(stamp: str | None = "cancelled_at") -> Hook:
    """A ``cancel`` action: the resource stops where it is, ``cancelled`` from now (stamped in ``stamp``)."""

    async def cancel(progress: Progress) -> None:
        progress.resource["status"] = "cancelled"
        if stamp is not None:
            progress.resource[stamp] = progress.state.identity.created()
        progress.life["stopped"] = True

    return cancel


class Answer:
    """What one of the app's own endpoints answered an in-process request."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


async def ask(request: SpecRequest, path: str, body: dict[str, Any]) -> Answer:
    """``POST path`` with ``body`` to the app itself, as the client that is reading would send it (its key and
    test id): through the pipeline of the endpoint there, without the wire layer (no journal entry, no faults)."""
    outer = request.call.request
    headers = [(b"content-type", b"application/json")] + [
        (name, value) for name, value in outer.scope["headers"] if name in (AUTHORIZATION_HEADER, TEST_ID_HEADER)]
    payload = orjson.dumps(body)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [*headers, (b"content-length", str(len(payload)).encode())],
        "client": outer.scope.get("client"), "server": outer.scope.get("server"), "state": {},
    }
    scope[CONTEXT_KEY] = dataclasses.replace(RequestContext.from_scope(scope), internal=True)
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": payload, "more_body": False}

    status, answered_headers, chunks = 500, {}, []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, answered_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            answered_headers = {name.decode("latin-1").lower(): value.decode("latin-1")
                                for name, value in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await outer.app(scope, receive, send)
    return Answer(status, answered_headers, b"".join(chunks))


def life_of(state: AppState, collection: str, resource_id: str) -> dict[str, Any] | None:
    return state.stores.resources.get(LIVES, _life_key(collection, resource_id))


def status_now(state: AppState, collection: str, resource: dict[str, Any],
               life: dict[str, Any] | None = None) -> str:
    """The status a resource with a plain life (no hooks of consequence) has now, without storing it; ``life``
    when the caller has read it already."""
    life = life or life_of(state, collection, resource.get("id", ""))
    if life is None or life.get("stopped"):
        return str(resource.get("status"))
    path = life["path"]
    return str(path[max(life["reached"], reached(state.clock.now() - life["born"], path,
                                                   state.config.job_steps))])


def born(state: AppState, collection: str, resource: dict[str, Any], path: list[str],
         plan: dict[str, Any] | None = None) -> None:
    """Keep ``resource`` in ``collection`` with a life starting now along ``path``: for the resources a
    lifecycle makes itself (the files a vector store is created with)."""
    resource["status"] = path[0]
    state.stores.resources.put(collection, resource["id"], resource)
    _keep_life(state, collection, resource["id"], {"path": path, "born": state.clock.now(),
                                                   "born_at": resource.get("created_at"), "reached": 0,
                                                   "stopped": False, "plan": plan or {}})
