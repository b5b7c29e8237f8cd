"""Which cassette answers a request, in which mode, and what happens on a miss.

Modes, as vcrpy's: ``none`` replays only (a miss is an error: the CI default); ``once`` records into a
cassette that does not exist yet and otherwise replays only; ``new`` replays what is recorded and records
what is missing; ``all`` records everything again, starting the cassette afresh.

A test's cassette is the one assigned to its test id (the pytest plugin, :meth:`CassetteLibrary.use`),
else ``<directory>/<test id>.yaml`` (``default.yaml`` for requests without ``X-Mock-Test-Id``) under
``--record DIR`` or ``--cassettes DIR``. A miss answers 404 ``cassette_miss`` in the provider's envelope,
naming the cassette, the nearest recording and the fields that differ, and is kept for the plugin, which
fails the test with the same text.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio.to_thread
import orjson
from starlette.responses import Response

from mockserver.cassettes.format import Cassette, CassetteError, Interaction, safe_headers
from mockserver.cassettes.keys import MatchKey, match_key
from mockserver.cassettes.replay import normalised_turn, replayed
from mockserver.cassettes.upstream import Upstreams, fetch
from mockserver.conformance import official_errors
from mockserver.errors import ApiError

if TYPE_CHECKING:
    import httpx
    from starlette.requests import Request

    from mockserver.dialects.dialect import Dialect

MODES = ("none", "once", "new", "all")
MAX_OPEN = 64
MAX_NAME_BYTES = 200
"""The longest cassette file name made from a test id (the rest of it is a digest)."""
"""Cassettes kept loaded at once (one per test id under a directory); the least recently used is let go."""
ID_MODES = ("kept", "seeded")
USAGE_MODES = ("kept", "recomputed")
LOG = logging.getLogger("mockserver.cassettes")
RESPONSE_SCHEMAS = {("/chat/completions", False): "CreateChatCompletionResponse",
                    ("/chat/completions", True): "CreateChatCompletionStreamResponse",
                    ("/responses", False): "Response", ("/embeddings", False): "CreateEmbeddingResponse"}


@dataclass
class Replay:
    """How recordings are given back."""

    speed: float = 1.0
    ids: str = "kept"
    usage: str = "kept"
    seed: int = 0


@dataclass
class Asked:
    """The request a cassette is asked to answer, as the pipeline has it."""

    request: Request
    dialect: Dialect
    test_id: str | None
    answered_by: str | None = None  # which interaction answered (or was recorded), once one has
    # The chat request a body of another API stands for (the endpoint's ``chat_view``): what usage is counted from.
    chat_view: Callable[[dict[str, Any]], dict[str, Any]] | None = None


@dataclass
class _Open:
    """A loaded cassette with what this run has used of it."""

    cassette: Cassette
    mode: str
    may_record: bool
    keys: list[MatchKey] = field(default_factory=list)
    used: list[int] = field(default_factory=list)
    stamp: tuple[int, int] | None = None  # the file's modification time and size when it was read

    @property
    def used_any(self) -> bool:
        return any(self.used)


class SharedPlays(Protocol):
    """A fleet's cassette play counts (``mockserver.fleet.FleetPlays``)."""

    async def take(self, cassette: str, ranked: list[int]) -> tuple[int, int]:
        """The first of ``ranked`` the fleet has not played from ``cassette`` (else the last), and its plays
        counting this one, taken atomically."""
        ...

    def clear(self) -> None: ...


KEPT_HEADERS = ("content-type", "openai-beta", "anthropic-version", "anthropic-beta", "x-mock-test-id")
"""The request headers a recording keeps."""


class CassetteLibrary:
    def __init__(self, directory: str | None, mode: str, upstreams: Upstreams | None, replay: Replay,
                 redact_fields: tuple[str, ...] = (), streaming_dialects: frozenset[str] = frozenset(),
                 plays: SharedPlays | None = None) -> None:
        """``streaming_dialects``: the dialects whose requests stream unless they say not to (Ollama's);
        ``plays``: a fleet's play counts (None: this server's own)."""
        self.plays = plays
        self.directory = Path(directory) if directory else None
        self.streaming_dialects = streaming_dialects
        self.mode = mode
        self.upstreams = upstreams
        self.replay = replay
        self.redact_fields = redact_fields
        self.misses: dict[str | None, list[str]] = defaultdict(list)
        self._assigned: dict[str | None, tuple[Path, str]] = {}
        self._open: dict[Path, _Open] = {}
        self._client: httpx.AsyncClient | None = None

    def use(self, test_id: str | None, path: str | Path, mode: str) -> None:
        """Answer ``test_id``'s requests from the cassette at ``path`` in ``mode``."""
        if mode not in MODES:
            raise ValueError(f"unknown record mode {mode!r}; expected one of {', '.join(MODES)}")
        self._assigned[test_id] = (Path(path), mode)
        self._open.pop(Path(path), None)
        self.misses.pop(test_id, None)

    def release(self, test_id: str | None) -> list[str]:
        """Stop answering ``test_id`` from its cassette; the misses it had."""
        assigned = self._assigned.pop(test_id, None)
        if assigned is not None:
            self._open.pop(assigned[0], None)
        return self.misses.pop(test_id, [])

    def reset(self) -> None:
        """Forget what was used and missed (the files stay; in a fleet, the fleet's plays). What was read is kept,
        parsed, and read again only when its file changed."""
        for opened in self._open.values():
            opened.used = [0] * len(opened.used)
        self.misses.clear()
        if self.plays is not None:
            self.plays.clear()

    @property
    def in_use(self) -> bool:
        """Whether any request could be answered from a cassette: a directory, or a test's own cassette."""
        return self.directory is not None or bool(self._assigned)

    def active(self, test_id: str | None) -> tuple[Path, str] | None:
        if test_id in self._assigned:
            return self._assigned[test_id]
        if self.directory is None:
            return None
        name = "".join(char if char.isalnum() or char in "-_." else "_" for char in (test_id or "default"))
        if len(name.encode()) > MAX_NAME_BYTES:  # a file name has 255 bytes at most: the start, and a digest
            digest = hashlib.sha256(name.encode()).hexdigest()[:16]
            name = name.encode()[: MAX_NAME_BYTES - 17].decode("utf-8", "ignore") + "-" + digest
        return self.directory / f"{name}.yaml", self.mode

    async def answer(self, call: Asked, body: Any) -> Response | None:
        """The recorded (or, when the mode allows it, just recorded) answer; None when no cassette is in use."""
        chosen = self.active(call.test_id)
        if chosen is None:
            return None
        try:
            opened = await self._opened(*chosen)
        except CassetteError as error:  # the test chose a cassette the mock cannot read: say which, and why
            raise ApiError(400, f"The cassette cannot be used: {error}", code="invalid_cassette") from None
        path = relative_path(call)
        key = match_key(call.request.method, path, body, call.dialect.streams_by_default)
        if opened.mode != "all":
            ranked = self._ranked(opened, key, call.dialect.name)
            if ranked:
                return self._replay(call, opened, await self._play(chosen[0], opened, ranked), body)
        if not opened.may_record:
            message = self._miss_message(opened, key, call.dialect.name)
            self.misses[call.test_id].append(message)
            raise ApiError(404, message, code="cassette_miss")
        return await self._record(call, opened, path, key, body)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _upstream_client(self) -> httpx.AsyncClient:
        """The client for upstreams, made on first use on a worker thread: its TLS context reads the system's
        certificates, which held the event loop for 100 ms."""
        import httpx  # here, not at the top: a mock that records nothing never loads it

        if self._client is None:
            made = await anyio.to_thread.run_sync(httpx.AsyncClient)
            if self._client is None:
                self._client = made
            else:  # another recording made one meanwhile
                await made.aclose()
        return self._client

    async def _opened(self, path: Path, mode: str) -> _Open:
        opened = self._open.pop(path, None)
        stamp = _stamp(path)
        if opened is not None and (opened.mode != mode or (opened.stamp != stamp and not opened.used_any)):
            opened = None  # another mode, or a file changed on disk since it was read (and not by this run)
        if opened is None:
            if len(self._open) >= MAX_OPEN:
                self._open.pop(next(iter(self._open)))
            existed = path.exists()
            # Parsing a large cassette takes seconds: on a worker thread, so the server answers meanwhile.
            cassette = Cassette(path) if mode == "all" else await anyio.to_thread.run_sync(Cassette.load, path)
            opened = _Open(cassette, mode, may_record=mode in ("new", "all") or (mode == "once" and not existed),
                           stamp=stamp)
            opened.keys = [match_key(item.method, item.path, item.request_body,
                                     item.dialect in self.streaming_dialects) for item in cassette.interactions]
            opened.used = [0] * len(opened.keys)
        self._open[path] = opened  # last in the dict: the most recently used
        return opened

    @staticmethod
    def _ranked(opened: _Open, key: MatchKey, dialect: str) -> list[int]:
        """The recordings that may answer, in recorded order: every required field agrees, the best ranked."""
        interactions = opened.cassette.interactions
        matches = [index for index, recorded in enumerate(opened.keys)
                   if interactions[index].dialect == dialect and not key.differences(recorded)]
        if not matches:
            return []
        best = max(key.rank(opened.keys[index]) for index in matches)
        return [index for index in matches if key.rank(opened.keys[index]) == best]

    async def _play(self, path: Path, opened: _Open, ranked: list[int]) -> int:
        """The recording that answers, its play counted: the first of ``ranked`` not played yet (so repeated
        requests replay in order), else the last of them again; in a fleet, counted in the fleet's Redis."""
        if self.plays is None:
            index = next((index for index in ranked if not opened.used[index]), ranked[-1])
            opened.used[index] += 1
        else:
            index, plays = await self.plays.take(str(path), ranked)
            opened.used[index] = plays
        return index

    def _replay(self, call: Asked, opened: _Open, index: int, body: Any) -> Response:
        interaction = opened.cassette.interactions[index]
        call.answered_by = f"cassette:{opened.cassette.path.name}#{index}"
        seed = f"{self.replay.seed}:{opened.cassette.path.name}:{index}:{opened.used[index]}".encode()
        usage_for = None
        if self.replay.usage == "recomputed" and isinstance(body, dict):
            usage_for = call.chat_view(body) if call.chat_view is not None else body
        return replayed(interaction, speed=self.replay.speed, id_seed=seed if self.replay.ids == "seeded" else None,
                        usage_for=usage_for)

    async def _record(self, call: Asked, opened: _Open, path: str, key: MatchKey, body: Any) -> Response:
        if self.upstreams is None:
            raise ApiError(502, f"Cannot record into {opened.cassette.path}: no upstream. Start the mock with "
                           "--upstream URL.", type="server_error", code="no_upstream")
        headers = {name.lower(): value for name, value in call.request.headers.items()}
        got = await fetch(await self._upstream_client(), self.upstreams, call.dialect.name, call.request.method, path,
                          call.request.url.query, headers, body)
        interaction = Interaction(
            method=call.request.method, path=path, dialect=call.dialect.name,
            request_headers=safe_headers({name: value for name, value in headers.items() if name in KEPT_HEADERS}),
            request_body=body, status=got.status, response_headers=got.headers, body=got.body, frames=got.frames,
            turn=normalised_turn(got.body, got.frames) if got.status < 400 else None,
        )
        interaction.drift = drift(interaction)
        for problem in interaction.drift:
            LOG.warning("upstream answer to %s %s is outside the official schema: %s", call.request.method, path,
                        problem)
        cassette = opened.cassette
        cassette.interactions.append(interaction)
        opened.keys.append(key)
        opened.used.append(1)
        try:
            await anyio.to_thread.run_sync(cassette.write, list(cassette.interactions), self.redact_fields)
        except CassetteError as error:  # full: the answer is given, and the cassette keeps what it had
            cassette.interactions.pop()
            opened.keys.pop()
            opened.used.pop()
            raise ApiError(400, f"The answer was not recorded: {error}", code="invalid_cassette") from None
        opened.stamp = _stamp(cassette.path)
        call.answered_by = f"recorded:{cassette.path.name}#{len(cassette.interactions) - 1}"
        return replayed(interaction, speed=0.0, id_seed=None, usage_for=None)

    def _miss_message(self, opened: _Open, key: MatchKey, dialect: str) -> str:
        cassette = opened.cassette.path
        head = (f"No recording in cassette {cassette} answers this {key.method} {key.path} "
                f"(record mode {opened.mode}).")
        how = (" To record it, run with --record-mode new (pytest: --mockserver-record=new) and an --upstream, "
               "or edit the cassette.")
        same_path = [index for index, recorded in enumerate(opened.keys)
                     if recorded.method == key.method and recorded.path == key.path
                     and opened.cassette.interactions[index].dialect == dialect]
        if not same_path:
            held = len(opened.keys)
            return f"{head} It holds {held} recording{'s' if held != 1 else ''}, none of {key.method} {key.path}.{how}"
        nearest = max(same_path, key=lambda index: key.rank(opened.keys[index]))
        recorded = opened.keys[nearest]
        differences = "; ".join(f"{name}: recorded {recorded.describe(name)!r}, got {key.describe(name)!r}"
                                for name in key.differences(recorded))
        return f"{head} The nearest is interaction {nearest}, which differs in {differences}.{how}"


def relative_path(call: Asked) -> str:
    """The request's path below the dialect's base (``/chat/completions``), wherever the dialect was reached; for a
    dialect whose paths carry the API version (Gemini's), below the host root (``/v1beta/models/…``)."""
    path = call.request.url.path
    dialect = call.dialect
    for prefix in sorted((dialect.mount_path, dialect.base_path, *dialect.also_at), key=len, reverse=True):
        if path.startswith(prefix + "/"):
            kept = prefix.rsplit("/", 1)[0] if dialect.versioned_paths else prefix
            return path[len(kept):]
    return path


def drift(interaction: Interaction) -> list[str]:
    """Where a recorded success falls outside the official schema of its endpoint."""
    name = RESPONSE_SCHEMAS.get((interaction.path, interaction.stream))
    if name is None or interaction.status >= 400:
        return []
    if interaction.frames is None:
        return official_errors(name, interaction.body)[:5]
    problems: list[str] = []
    for position, frame in enumerate(interaction.frames):
        payload = frame.data.rpartition("data: ")[2]
        if payload.strip() == "[DONE]":
            continue
        try:
            event = orjson.loads(payload)
        except ValueError:
            problems.append(f"frame {position} is not JSON")
            continue
        problems += [f"frame {position}: {problem}" for problem in official_errors(name, event)]
        if len(problems) >= 5:
            break
    return problems[:5]


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size

