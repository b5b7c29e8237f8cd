"""One Realtime session over a WebSocket: the GA event protocol, answered by the chat service.

The session opens with ``session.created``; then each client event gets its answer, in the order the API sends
them: ``session.update`` → ``session.updated``; ``conversation.item.create`` / ``retrieve`` / ``delete`` /
``truncate`` → ``conversation.item.added`` and ``.done`` / ``.retrieved`` / ``.deleted`` / ``.truncated``;
``input_audio_buffer.append`` (no answer) / ``commit`` (``input_audio_buffer.committed`` and the user's audio item) /
``clear``; ``response.create`` → ``response.created``, each output item's ``response.output_item.added``,
``conversation.item.added``, its content part and deltas (``response.output_text.delta`` … or
``response.output_audio.delta`` with ``response.output_audio_transcript.delta`` …; for a function call
``response.function_call_arguments.delta`` and ``.done``), ``response.output_item.done``,
``conversation.item.done``, then ``response.done`` with the usage and ``rate_limits.updated``. A response with
``conversation: "none"`` is out of band: its items stay out of the conversation. A malformed, unknown or
out-of-order client event gets an ``error`` event naming it (its ``event_id``, the ``param``) and the session goes
on.

Replies come from the chat service (the same seed, the same events): the conversation's items are the chat
messages, the session's (or the response's) instructions its system message, its function tools the chat tools, so
a function is called until its ``function_call_output`` item is in. Audio replies are real audio in the session's
output format (24 kHz pcm16, or 8 kHz G.711 μ-law or A-law) whose samples carry the reply's text. Server VAD hears
speech by each 20 ms frame's energy. A response is sent from a task beside the reader of client events, so
``response.cancel`` and speech heard meanwhile (barge-in) cancel it: it ends with ``response.done`` of status
``cancelled``, what it had said kept as an incomplete item.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import orjson
from starlette.websockets import WebSocketDisconnect

from mockserver.control.decision import Decision
from mockserver.control.faults import Fault
from mockserver.determinism import rng
from mockserver.endpoints.base import SocketCall
from mockserver.endpoints.realtime import events
from mockserver.errors import ApiError
from mockserver.generation import audio_tags, g711, media, prose
from mockserver.generation.chat import Completion
from mockserver.generation.tokens import encoding_for_model, tokenizer

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from mockserver.app.state import AppState

MAX_ITEMS = 4096
MAX_CONVERSATION_BYTES = 32 * 1024 * 1024
"""Items a conversation holds at most, and their JSON's bytes: a client that adds more gets an error for each."""
MAX_AUDIO_BYTES = 15 * 1024 * 1024
"""The input audio buffer's bound (about 5 minutes of 24 kHz pcm16), as the API's."""
MIN_COMMIT_MS = 100
MAX_EVENTS_PER_SECOND = 1_000
"""Client events a session takes a second; past them, one ``error`` event and the rest of that second dropped."""
FRAME_MS = 20
SPEECH_RMS = 500.0
"""A 20 ms frame whose RMS is at least this (of 32,767) is speech, at the default threshold 0.5."""
ENERGY_RATE = 6_000
"""A frame's energy is measured on every few samples, 6,000 a second (4,000 of G.711's 8 kHz): enough for a
level."""
FRAMES_PER_YIELD = 50
AUDIO_CHUNK_MS = 200
"""Output audio per ``response.output_audio.delta``."""
SECONDS_PER_WORD = 0.3
AUDIO_TOKENS_PER_SECOND = 10
"""How the mock bills a reply's audio: 10 output audio tokens a second of speech."""
MODALITIES = frozenset({"text", "audio"})
SESSION_FIELDS = frozenset({"type", "model", "instructions", "output_modalities", "tools", "tool_choice", "audio",
                            "max_output_tokens", "tracing", "truncation", "prompt", "include"})
CLIENT_EVENTS = ("session.update", "conversation.item.create", "conversation.item.retrieve",
                 "conversation.item.delete", "conversation.item.truncate", "input_audio_buffer.append",
                 "input_audio_buffer.commit", "input_audio_buffer.clear", "response.create", "response.cancel")
ROLES = ("user", "assistant", "system")


@dataclass
class Active:
    """The response being sent: what a cancellation ends it with."""

    id: str
    modalities: list[str]
    conversation: str | None
    metadata: Any
    audio_output: dict[str, Any]  # the session's output format and voice when it began
    output: list[dict[str, Any]] = field(default_factory=list)
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    reason: str = "client_cancelled"
    # The message being said when it was cancelled: its item id, output index, content type, what was said of it.
    saying: tuple[str, int, str] | None = None
    said: list[str] = field(default_factory=list)

    def cancel(self, reason: str) -> None:
        self.reason = reason
        self.scope.cancel()


@dataclass(frozen=True)
class AudioFormat:
    """One side's audio as the session sets it: 24 kHz pcm16 (``audio/pcm``), or 8 kHz G.711 μ-law
    (``audio/pcmu``) or A-law (``audio/pcma``), one byte a sample."""

    law: g711.Law | None

    @classmethod
    def of(cls, settings: dict[str, Any]) -> AudioFormat:
        return cls(LAWS[settings["format"]["type"]])

    @property
    def width(self) -> int:
        return 2 if self.law is None else 1

    @property
    def rate(self) -> int:
        return events.AUDIO_RATE if self.law is None else g711.RATE

    @property
    def bytes_per_second(self) -> int:
        return self.width * self.rate

    def ms(self, size: int) -> int:
        return size * 1000 // self.bytes_per_second

    def levels(self, frame: memoryview) -> list[int] | memoryview:
        """Every few of a frame's samples, as linear levels (see ``ENERGY_RATE``)."""
        stride = max(1, self.rate // ENERGY_RATE)
        if self.law is None:
            return frame.cast("h")[::stride]
        return g711.levels(frame[::stride], self.law)

    def encoded(self, pcm: bytes) -> bytes:
        """24 kHz pcm16 in this format."""
        if self.law is None:
            return pcm
        return g711.encode(memoryview(pcm).cast("h")[:: events.AUDIO_RATE // g711.RATE].tobytes(), self.law)


LAWS: dict[str, g711.Law | None] = {"audio/pcm": None, "audio/pcmu": "ulaw", "audio/pcma": "alaw"}


class Stopped(Exception):
    """A fault ended the response (or the session) before its last event."""


class ClientEventError(Exception):
    """A client event the session answers with an ``error`` event."""

    def __init__(self, message: str, param: str | None = None, code: str = "invalid_value") -> None:
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


class Session:
    def __init__(self, state: AppState, call: SocketCall, model: str) -> None:
        self.state = state
        self.call = call
        seed = f"{state.config.seed}:{call.context.test_id}:{model}".encode()
        self.ids = events.EventIds(state.identity.make_id("sess_", state.identity.salt(seed), 21))
        self.config = events.session_object(self.ids.session, model, state.clock.created() + events.SESSION_SECONDS)
        if call.granted is not None and call.granted["session"].get("type") == "realtime":  # opened with an
            # ephemeral secret: the session it was minted for
            granted = call.granted["session"]
            self.config.update({name: value for name, value in granted.items()
                                if name not in ("id", "expires_at", "audio")})
            if isinstance(granted.get("audio"), dict):
                with contextlib.suppress(ClientEventError):  # the minting schema let it by: the defaults stay
                    self.config["audio"] = _audio(_merged(self.config["audio"], granted["audio"]), "session.audio")
        self.items: list[dict[str, Any]] = []
        self.held_bytes = 0  # the items' JSON, in bytes
        self.audio = bytearray()
        self.heard_ms = 0  # the input audio appended since the session began, in ms
        self.speech: str | None = None  # the item id of the speech the turn detector heard start, while it lasts
        self.quiet_ms = 0  # silence since the last speech, while speech lasts
        self.scanned = 0  # the bytes of the buffer the turn detector has heard
        self.conversation_id = self.ids.make("conv_")
        self.plan: dict[str, Fault] = {}  # the faults of the response being sent, by name
        self.sent = 0  # events of that response sent so far
        self.closed = False
        self.window = (0.0, 0)  # when the current second of client events began, and how many came in it
        self.responses: TaskGroup | None = None  # where responses are sent from, beside the reader
        self.active: Active | None = None  # the response being sent

    async def send(self, event: dict[str, Any]) -> None:
        await self.call.websocket.send_text(orjson.dumps({"event_id": self.ids.event(), **event}).decode())

    async def emit(self, event: dict[str, Any]) -> None:
        """One event of the response being sent: its faults first, then the event."""
        if self.plan:
            await self._faulted(event)
        await self.send(event)
        self.sent += 1

    async def _faulted(self, event: dict[str, Any]) -> None:
        """Carry out the response's faults before its next event: the wire's stream faults, on events."""
        plan, index = self.plan, self.sent
        if index == 0:
            for name in ("latency", "ttft"):
                if name in plan:
                    await anyio.sleep(plan[name].value("ms") / 1000)
            if "hang" in plan:  # answer nothing more: the session's reader ends it when the client leaves
                await anyio.sleep_forever()
        elif "tokens_per_second" in plan and event["type"].endswith(".delta"):
            await anyio.sleep(1 / plan["tokens_per_second"].value("rate"))
        if self._fires("stall", index):
            await anyio.sleep(plan["stall"].value("seconds"))
        if self._fires("disconnect", index):
            self.closed = True
            await self.call.websocket.close(plan["disconnect"].value("close_code"))
            raise Stopped
        if self._fires("truncate", index):
            raise Stopped
        if self._fires("malformed", index):
            await self.call.websocket.send_text('{"type": "response.output_text.delta", "delta": ')
            self.sent += 1
        if self._fires("error_event", index):
            failure = plan["error_event"]
            await self.call.websocket.send_text(orjson.dumps(events.error(
                self.ids.event(), failure.value("message"), kind=failure.value("type"),
                code=failure.value("code"))).decode())
            raise Stopped

    def _fires(self, name: str, index: int) -> bool:
        fault = self.plan.get(name)
        return fault is not None and index == fault.value("after_chunks")

    async def run(self) -> None:
        try:
            await self._serve()
        except* (WebSocketDisconnect, OSError):
            pass  # the client left, maybe while a response was on its way: nothing more to send

    async def _serve(self) -> None:
        await self.send({"type": "session.created", "session": self.config})
        async with anyio.create_task_group() as self.responses:
            await self._read()
            self.responses.cancel_scope.cancel()  # the client left: a response on its way ends with it

    async def _read(self) -> None:
        while not self.closed:
            message = await self.call.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                await self.send(events.error(self.ids.event(), "Client events are JSON text frames, not binary ones.",
                                             code="invalid_event"))
                continue
            if self.state.clock.now() > self.config["expires_at"]:
                await self.send(events.error(self.ids.event(), "Your session hit the maximum duration of 30 minutes.",
                                             code="session_expired"))
                await self.call.websocket.close(1000)
                return
            await self.handle(text)

    async def handle(self, text: str) -> None:
        started, count = self.window
        now = time.monotonic()
        self.window = (now, 1) if now - started >= 1 else (started, count + 1)
        if self.window[1] > MAX_EVENTS_PER_SECOND:
            if self.window[1] == MAX_EVENTS_PER_SECOND + 1:
                await self.send(events.error(self.ids.event(), f"Too many client events: at most "
                                             f"{MAX_EVENTS_PER_SECOND} a second; the rest of this second's are "
                                             "dropped.", code="too_many_events"))
            return
        client_event_id = None
        try:
            try:
                event = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise ClientEventError("The client event is not valid JSON.", code="invalid_json") from None
            self.call.received(event, len(text))
            if not isinstance(event, dict):
                raise ClientEventError("A client event is a JSON object.", code="invalid_event")
            client_event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
            kind = event.get("type")
            if kind not in CLIENT_EVENTS:
                raise ClientEventError(f"Invalid value: {kind!r}. Supported values are: {', '.join(CLIENT_EVENTS)}.",
                                       "type")
            await getattr(self, "_" + str(kind).replace(".", "_"))(event)
        except ClientEventError as problem:
            await self.send(events.error(self.ids.event(), problem.message, code=problem.code, param=problem.param,
                                         client_event_id=client_event_id))

    # ---------------------------------------------------------------- session

    async def _session_update(self, event: dict[str, Any]) -> None:
        update = _object(event, "session")
        unknown = sorted(set(update) - SESSION_FIELDS)
        if unknown:
            raise ClientEventError(f"Unknown parameter: 'session.{unknown[0]}'.", f"session.{unknown[0]}",
                                   "unknown_parameter")
        if update.get("type", "realtime") != "realtime":
            raise ClientEventError("session.type cannot change: this is a realtime session.", "session.type")
        changed = dict(self.config)
        for name in ("instructions", "model"):
            if name in update:
                changed[name] = _string(update[name], f"session.{name}")
        if "output_modalities" in update:
            changed["output_modalities"] = _modalities(update["output_modalities"], "session.output_modalities")
        if "tools" in update:
            changed["tools"] = _tools(update["tools"], "session.tools")
        if "tool_choice" in update:
            changed["tool_choice"] = _tool_choice(update["tool_choice"], "session.tool_choice")
        if "max_output_tokens" in update:
            changed["max_output_tokens"] = _max_tokens(update["max_output_tokens"], "session.max_output_tokens")
        if "audio" in update:
            changed["audio"] = _audio(_merged(self.config["audio"], _object(update, "audio", "session.audio")),
                                      "session.audio")
        for name in ("tracing", "truncation", "prompt", "include"):
            if name in update:
                changed[name] = update[name]
        self.config = changed
        await self.send({"type": "session.updated", "session": self.config})

    # ---------------------------------------------------------------- conversation

    def _index(self, item_id: Any, param: str) -> int:
        for position, held in enumerate(self.items):
            if held["id"] == item_id:
                return position
        raise ClientEventError(f"Item with item_id not found: {item_id}", param, "item_not_found")

    async def _add(self, item: dict[str, Any], previous_item_id: str | None) -> None:
        """Put ``item`` in the conversation after ``previous_item_id`` (``root``: first; None: last)."""
        size = len(orjson.dumps(item))
        if len(self.items) >= MAX_ITEMS or self.held_bytes + size > MAX_CONVERSATION_BYTES:
            raise ClientEventError(f"The conversation holds at most {MAX_ITEMS} items and {MAX_CONVERSATION_BYTES} "
                                   "bytes of them: delete some first.", code="conversation_full")
        self.held_bytes += size
        if previous_item_id is None:
            position = len(self.items)
        elif previous_item_id == "root":
            position = 0
        else:
            position = self._index(previous_item_id, "previous_item_id") + 1
        before = self.items[position - 1]["id"] if position else None
        self.items.insert(position, item)
        await self.send({"type": "conversation.item.added", "previous_item_id": before, "item": item})
        await self.send({"type": "conversation.item.done", "previous_item_id": before, "item": item})

    async def _conversation_item_create(self, event: dict[str, Any]) -> None:
        given = _object(event, "item")
        item = self._item(given, "item")
        previous = event.get("previous_item_id")
        if previous is not None and not isinstance(previous, str):
            raise ClientEventError("previous_item_id must be a string.", "previous_item_id")
        await self._add(item, previous)

    def _item(self, given: dict[str, Any], param: str) -> dict[str, Any]:
        kind = given.get("type")
        item_id = str(given["id"]) if isinstance(given.get("id"), str) else self.ids.make("item_")
        if any(held["id"] == item_id for held in self.items):
            raise ClientEventError(f"Item with id '{item_id}' already exists.", f"{param}.id", "item_exists")
        if kind == "message":
            role = given.get("role")
            if role not in ROLES:
                raise ClientEventError(f"Invalid value: {role!r}. Supported values are: {', '.join(ROLES)}.",
                                       f"{param}.role")
            content = given.get("content")
            if not isinstance(content, list) or not all(isinstance(part, dict) for part in content):
                raise ClientEventError("content must be an array of content parts.", f"{param}.content")
            return events.item(item_id, "message", role=role, content=content)
        if kind == "function_call_output":
            return events.item(item_id, kind, call_id=_string(given.get("call_id"), f"{param}.call_id"),
                               output=_string(given.get("output"), f"{param}.output"))
        if kind == "function_call":
            return events.item(item_id, kind, call_id=_string(given.get("call_id"), f"{param}.call_id"),
                               name=_string(given.get("name"), f"{param}.name"),
                               arguments=_string(given.get("arguments", ""), f"{param}.arguments"))
        raise ClientEventError(f"Invalid value: {kind!r}. Supported values are: message, function_call, "
                               "function_call_output.", f"{param}.type")

    async def _conversation_item_retrieve(self, event: dict[str, Any]) -> None:
        held = self.items[self._index(event.get("item_id"), "item_id")]
        await self.send({"type": "conversation.item.retrieved", "item": held})

    async def _conversation_item_delete(self, event: dict[str, Any]) -> None:
        position = self._index(event.get("item_id"), "item_id")
        removed = self.items.pop(position)
        self.held_bytes -= len(orjson.dumps(removed))
        item_id = removed["id"]
        await self.send({"type": "conversation.item.deleted", "item_id": item_id})

    async def _conversation_item_truncate(self, event: dict[str, Any]) -> None:
        held = self.items[self._index(event.get("item_id"), "item_id")]
        index, end_ms = event.get("content_index"), event.get("audio_end_ms")
        content = held.get("content") or []
        if held.get("role") != "assistant" or not isinstance(index, int) or not 0 <= index < len(content) \
                or content[index].get("type") != "output_audio":
            raise ClientEventError("Only an assistant message's audio content can be truncated.", "content_index")
        if not isinstance(end_ms, int) or end_ms < 0:
            raise ClientEventError("audio_end_ms must be a whole number of milliseconds.", "audio_end_ms")
        await self.send({"type": "conversation.item.truncated", "item_id": held["id"], "content_index": index,
                         "audio_end_ms": end_ms})

    # ---------------------------------------------------------------- input audio

    async def _input_audio_buffer_append(self, event: dict[str, Any]) -> None:
        try:
            chunk = base64.b64decode(_string(event.get("audio"), "audio"), validate=True)
        except (binascii.Error, ValueError):
            raise ClientEventError("audio must be base64-encoded audio bytes.", "audio") from None
        if len(self.audio) + len(chunk) > MAX_AUDIO_BYTES:
            raise ClientEventError(f"The input audio buffer holds at most {MAX_AUDIO_BYTES} bytes: commit or clear "
                                   "it first.", "audio", "input_audio_buffer_full")
        self.audio += chunk
        detection = self.config["audio"]["input"].get("turn_detection")
        if isinstance(detection, dict):
            await self._detect_turns(detection)

    async def _detect_turns(self, detection: dict[str, Any]) -> None:
        """Server VAD from the audio's own energy: each 20 ms frame is speech when its RMS is over a level set by
        ``threshold``; speech that starts is ``speech_started``, and ``silence_duration_ms`` of quiet after it
        ``speech_stopped``, a commit of the audio up to there and (``create_response``) a response."""
        level = SPEECH_RMS * float(detection.get("threshold") or 0.5) / 0.5
        silence = int(detection.get("silence_duration_ms") or 200)
        heard = AudioFormat.of(self.config["audio"]["input"])
        frame_bytes = heard.bytes_per_second * FRAME_MS // 1000
        frames = 0
        while self.scanned + frame_bytes <= len(self.audio):
            frame = heard.levels(memoryview(self.audio)[self.scanned:self.scanned + frame_bytes])
            loud = math.sqrt(sum(sample * sample for sample in frame) / len(frame)) >= level
            del frame
            self.scanned += frame_bytes
            frames += 1
            if frames % FRAMES_PER_YIELD == 0:  # a long buffer (5 minutes: 15,000 frames) never holds the loop
                await anyio.lowlevel.checkpoint()
            at_ms = self.heard_ms + heard.ms(self.scanned)
            if loud and self.speech is None:
                self.speech, self.quiet_ms = self.ids.make("item_"), 0
                if self.active is not None and detection.get("interrupt_response", True):
                    self.active.cancel("turn_detected")  # barge-in: the user speaks over the response
                padding = int(detection.get("prefix_padding_ms") or 0)
                await self.send({"type": "input_audio_buffer.speech_started",
                                 "audio_start_ms": max(0, at_ms - FRAME_MS - padding), "item_id": self.speech})
            elif self.speech is not None:
                self.quiet_ms = 0 if loud else self.quiet_ms + FRAME_MS
                if self.quiet_ms >= silence:
                    item_id, self.speech = self.speech, None
                    await self.send({"type": "input_audio_buffer.speech_stopped",
                                     "audio_end_ms": at_ms - self.quiet_ms, "item_id": item_id})
                    await self._commit(item_id, self.scanned)
                    if detection.get("create_response", True):
                        await self._response_create({})

    async def _input_audio_buffer_commit(self, event: dict[str, Any]) -> None:
        held_ms = len(self.audio) * 1000 / AudioFormat.of(self.config["audio"]["input"]).bytes_per_second
        if held_ms < MIN_COMMIT_MS:
            raise ClientEventError(f"Error committing input audio buffer: buffer too small. Expected at least "
                                   f"{MIN_COMMIT_MS}ms of audio, but buffer only has {held_ms:.2f}ms of audio.",
                                   code="input_audio_buffer_commit_empty")
        item_id, self.speech = self.speech or self.ids.make("item_"), None
        await self._commit(item_id, len(self.audio))

    async def _commit(self, item_id: str, upto: int) -> None:
        """The buffer's first ``upto`` bytes as the user's audio item (heard, when transcription is on), and taken
        out of the buffer."""
        previous = self.items[-1]["id"] if self.items else None
        heard = bytes(self.audio[:upto])
        heard_as = AudioFormat.of(self.config["audio"]["input"])
        self.heard_ms += heard_as.ms(len(heard))
        del self.audio[:upto]
        self.scanned = max(0, self.scanned - upto)
        await self.send({"type": "input_audio_buffer.committed", "previous_item_id": previous, "item_id": item_id})
        transcription = self.config["audio"]["input"].get("transcription")
        transcript = self._transcript(heard, heard_as) if isinstance(transcription, dict) else None
        content: dict[str, Any] = {"type": "input_audio"}
        if transcript is not None:
            content["transcript"] = transcript
        await self._add(events.item(item_id, "message", role="user", content=[content]), None)
        if transcript is not None:
            for piece in tokenizer(encoding_for_model(self.config["model"])).pieces(transcript)[0]:
                await self.send({"type": "conversation.item.input_audio_transcription.delta", "item_id": item_id,
                                 "content_index": 0, "delta": piece})
            await self.send({"type": "conversation.item.input_audio_transcription.completed", "item_id": item_id,
                             "content_index": 0, "transcript": transcript, "usage": {
                                 "type": "duration", "seconds": round(len(heard) / heard_as.bytes_per_second, 3)}})

    def _transcript(self, heard: bytes, heard_as: AudioFormat) -> str:
        """What the audio says: the mock's own speech says its transcript exactly; other audio, seeded words."""
        said = audio_tags.heard_in_samples(heard, heard_as.width)
        if said is not None:
            return said
        draw = rng(hashlib.sha256(heard).digest(), "transcript")
        vocabulary = tokenizer(encoding_for_model(self.config["model"]))
        return "".join(prose.phrasebook(vocabulary).paragraph(draw, 1)[0]).strip()

    async def _input_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        self.heard_ms += AudioFormat.of(self.config["audio"]["input"]).ms(len(self.audio))
        self.audio.clear()
        self.scanned, self.speech = 0, None
        await self.send({"type": "input_audio_buffer.cleared"})

    # ---------------------------------------------------------------- responses

    async def _response_cancel(self, event: dict[str, Any]) -> None:
        if self.active is None:
            raise ClientEventError("Cancellation failed: no active response found", code="response_cancel_not_active")
        self.active.cancel("client_cancelled")

    async def _response_create(self, event: dict[str, Any]) -> None:
        asked = _object(event, "response") if event.get("response") is not None else {}
        modalities = _modalities(asked.get("output_modalities", self.config["output_modalities"]),
                                 "response.output_modalities")
        tools = _tools(asked["tools"], "response.tools") if "tools" in asked else self.config["tools"]
        choice = _tool_choice(asked.get("tool_choice", self.config["tool_choice"]), "response.tool_choice")
        out_of_band = asked.get("conversation", "auto")
        if out_of_band not in ("auto", "none"):
            raise ClientEventError("conversation must be 'auto' or 'none'.", "response.conversation")
        given = asked.get("input")
        context = [self._item(entry, f"response.input[{index}]") for index, entry in enumerate(given)] \
            if isinstance(given, list) else self.items
        instructions = asked.get("instructions", self.config["instructions"])
        limit = _max_tokens(asked.get("max_output_tokens", self.config["max_output_tokens"]),
                            "response.max_output_tokens")
        chat = chat_request(self.config["model"], _string(instructions, "response.instructions"), context, tools,
                            choice, limit)
        if self.active is not None:
            raise ClientEventError(f"Conversation already has an active response in progress: {self.active.id}. Wait "
                                   "until the response is finished before creating a new one.",
                                   code="conversation_already_has_active_response")
        try:
            decision = await self.call.decide(chat)
        except ApiError as error:  # the fleet's shared state did not answer
            raise ClientEventError(error.message, code=error.code or "server_error") from None
        if decision.error is not None:
            raise ClientEventError(decision.error.message, decision.error.param, decision.error.code or "error")
        try:
            completion = await self.state.chat.generate(self.call.dialect, chat, decision, len(orjson.dumps(chat)))
        except ApiError as error:
            raise ClientEventError(error.message, error.param, error.code or "invalid_value") from None
        conversation = None if out_of_band == "none" else self.conversation_id
        speaking = self.config["audio"]["output"]
        active = self.active = Active(self.ids.make("resp_"), modalities, conversation, asked.get("metadata"),
                                      {"format": speaking["format"],
                                       "voice": speaking.get("voice", events.DEFAULT_VOICE)})
        self.plan, self.sent = {fault.name: fault for fault in reversed(decision.faults)}, 0
        assert self.responses is not None
        self.responses.start_soon(self._send_response, active, completion, decision, out_of_band == "none")

    async def _send_response(self, active: Active, completion: Completion, decision: Decision,
                             out_of_band: bool) -> None:
        """Send a response's events; cancelled (``response.cancel``, or speech heard while it is sent), it ends
        with ``response.done`` of status ``cancelled`` and what it had sent."""
        try:
            with active.scope:
                await self._respond(active, completion, decision, out_of_band)
            if active.scope.cancel_called:
                if active.saying is not None:  # what was said of the cut message stays, incomplete
                    item_id, index, kind = active.saying
                    said = "".join(active.said)
                    cut = events.item(item_id, "message", "incomplete", role="assistant", content=[
                        {"type": kind, "transcript" if kind == "output_audio" else "text": said}])
                    active.output.append(cut)
                    await self.send({"type": "response.output_item.done", "response_id": active.id,
                                     "output_index": index, "item": cut})
                    if not out_of_band:
                        await self._keep(cut)
                await self.send({"type": "response.done", "response": events.response_object(
                    active.id, "cancelled", active.output, active.modalities, active.conversation, None,
                    {"type": "cancelled", "reason": active.reason}, active.metadata,
                    audio_output=active.audio_output)})
        except Stopped:
            pass
        except (WebSocketDisconnect, OSError):
            self.closed = True  # the client left mid-response
        finally:
            self.plan, self.active = {}, None

    async def _respond(self, active: Active, completion: Completion, decision: Decision, out_of_band: bool) -> None:
        response_id, modalities, conversation = active.id, active.modalities, active.conversation
        await self.emit({"type": "response.created", "response": events.response_object(
            response_id, "in_progress", [], modalities, conversation, metadata=active.metadata,
            audio_output=active.audio_output)})
        answer = completion.choices[0]
        output = active.output
        if answer.content or not answer.tool_calls:
            output.append(await self._message(response_id, len(output), answer.content or [], modalities,
                                              out_of_band))
        for call in answer.tool_calls:
            output.append(await self._function_call(response_id, len(output), call.name, call.argument_pieces,
                                                    out_of_band))
        text_tokens = answer.completion_tokens
        spoken = "audio" in modalities and (answer.content or not answer.tool_calls)
        audio_tokens = round(spoken_seconds(answer.content or []) * AUDIO_TOKENS_PER_SECOND) if spoken else 0
        usage = events.usage(completion.prompt_tokens, text_tokens, audio_tokens)
        self.call.report_usage(completion.prompt_tokens, text_tokens + audio_tokens)
        self.call.decided_by = decision.source
        status = "incomplete" if answer.finish_reason == "length" else "completed"
        details = {"type": "incomplete", "reason": "max_output_tokens"} if status == "incomplete" else None
        await self.emit({"type": "response.done", "response": events.response_object(
            response_id, status, output, modalities, conversation, usage, details, active.metadata,
            audio_output=active.audio_output)})
        await self.emit({"type": "rate_limits.updated", "rate_limits": [
            {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
            {"name": "tokens", "limit": 400000, "remaining": 400000 - usage["total_tokens"], "reset_seconds": 0.2}]})

    async def _output_item(self, response_id: str, index: int, item: dict[str, Any], out_of_band: bool) -> None:
        await self.emit({"type": "response.output_item.added", "response_id": response_id, "output_index": index,
                         "item": {**item, "status": "in_progress"}})
        if not out_of_band:
            await self.emit({"type": "conversation.item.added",
                             "previous_item_id": self.items[-1]["id"] if self.items else None,
                             "item": {**item, "status": "in_progress"}})

    async def _finish_item(self, response_id: str, index: int, item: dict[str, Any], out_of_band: bool) -> None:
        if self.active is not None:
            self.active.saying = None
        await self.emit({"type": "response.output_item.done", "response_id": response_id, "output_index": index,
                         "item": item})
        if not out_of_band:
            await self._keep(item)

    async def _keep(self, item: dict[str, Any]) -> None:
        """A response's item into the conversation (while it has room), and ``conversation.item.done``."""
        previous = self.items[-1]["id"] if self.items else None
        size = len(orjson.dumps(item))
        if len(self.items) < MAX_ITEMS and self.held_bytes + size <= MAX_CONVERSATION_BYTES:
            self.items.append(item)
            self.held_bytes += size
        await self.send({"type": "conversation.item.done", "previous_item_id": previous, "item": item})

    async def _message(self, response_id: str, index: int, pieces: list[str], modalities: list[str],
                       out_of_band: bool) -> dict[str, Any]:
        item_id = self.ids.make("item_")
        audio = "audio" in modalities
        await self._output_item(response_id, index, events.item(item_id, "message", role="assistant", content=[]),
                                out_of_band)
        where = {"response_id": response_id, "item_id": item_id, "output_index": index, "content_index": 0}
        text = "".join(pieces)
        if self.active is not None:
            self.active.saying, self.active.said = (item_id, index, "output_audio" if audio else "output_text"), []
        await self.emit({"type": "response.content_part.added", **where,
                         "part": {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}})
        if audio:
            said = AudioFormat.of(self.config["audio"]["output"])
            pcm = media.audio_clip(item_id.encode(), "pcm16", spoken_seconds(pieces))
            clip = audio_tags.mark_samples(said.encoded(pcm), text, said.width)
            chunk = said.bytes_per_second * AUDIO_CHUNK_MS // 1000
            for start in range(0, len(clip), chunk):
                await self.emit({"type": "response.output_audio.delta", **where,
                                 "delta": base64.b64encode(clip[start:start + chunk]).decode()})
            for piece in pieces:
                await self.emit({"type": "response.output_audio_transcript.delta", **where, "delta": piece})
                self._said(piece)
            await self.emit({"type": "response.output_audio.done", **where})
            await self.emit({"type": "response.output_audio_transcript.done", **where, "transcript": text})
            part = {"type": "audio", "transcript": text}
            content = {"type": "output_audio", "transcript": text}
        else:
            for piece in pieces:
                await self.emit({"type": "response.output_text.delta", **where, "delta": piece})
                self._said(piece)
            await self.emit({"type": "response.output_text.done", **where, "text": text})
            part = {"type": "text", "text": text}
            content = {"type": "output_text", "text": text}
        await self.emit({"type": "response.content_part.done", **where, "part": part})
        item = events.item(item_id, "message", role="assistant", content=[content])
        await self._finish_item(response_id, index, item, out_of_band)
        return item

    def _said(self, piece: str) -> None:
        if self.active is not None:
            self.active.said.append(piece)

    async def _function_call(self, response_id: str, index: int, name: str, pieces: list[str],
                             out_of_band: bool) -> dict[str, Any]:
        item_id = self.ids.make("item_")
        call_id = self.ids.make("call_", 16)
        await self._output_item(response_id, index, events.item(item_id, "function_call", call_id=call_id, name=name,
                                                                arguments=""), out_of_band)
        where = {"response_id": response_id, "item_id": item_id, "output_index": index, "call_id": call_id}
        for piece in pieces:
            await self.emit({"type": "response.function_call_arguments.delta", **where, "delta": piece})
        arguments = "".join(pieces)
        await self.emit({"type": "response.function_call_arguments.done", **where, "name": name,
                         "arguments": arguments})
        item = events.item(item_id, "function_call", call_id=call_id, name=name, arguments=arguments)
        await self._finish_item(response_id, index, item, out_of_band)
        return item


def spoken_seconds(pieces: list[str]) -> float:
    """How long a reply takes to say: :data:`SECONDS_PER_WORD` a word, at least one word's."""
    return max(1, len("".join(pieces).split())) * SECONDS_PER_WORD


def chat_request(model: str, instructions: str, items: list[dict[str, Any]], tools: list[dict[str, Any]],
                 choice: Any, limit: Any) -> dict[str, Any]:
    """The chat completions request a response stands for: the instructions as the system message, each item a
    message, the function tools as chat tools."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": instructions}] if instructions else []
    for held in items:
        if held["type"] == "message":
            text = " ".join(str(part.get("text") or part.get("transcript") or "")
                            for part in held.get("content") or [] if isinstance(part, dict))
            messages.append({"role": held["role"], "content": text or "[audio]"})
        elif held["type"] == "function_call":
            messages.append({"role": "assistant", "content": None, "tool_calls": [{
                "id": held["call_id"], "type": "function",
                "function": {"name": held["name"], "arguments": held["arguments"]}}]})
        elif held["type"] == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": held["call_id"], "content": held["output"]})
    chat: dict[str, Any] = {"model": model, "messages": messages or [{"role": "user", "content": ""}]}
    if tools:
        chat["tools"] = [{"type": "function", "function": {
            "name": tool["name"], "description": tool.get("description", ""),
            "parameters": tool.get("parameters") or {"type": "object", "properties": {}}}} for tool in tools]
        chat["tool_choice"] = choice if isinstance(choice, str) else {"type": "function", "function": {
            "name": choice.get("name")}}
    if isinstance(limit, int):
        chat["max_completion_tokens"] = limit
    return chat


def _object(event: dict[str, Any], name: str, param: str | None = None) -> dict[str, Any]:
    value = event.get(name)
    if not isinstance(value, dict):
        raise ClientEventError(f"Missing required parameter: '{param or name}'." if value is None
                               else f"Invalid type for '{param or name}': expected an object.", param or name,
                               "missing_required_parameter" if value is None else "invalid_type")
    return value


def _string(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise ClientEventError(f"Invalid type for '{param}': expected a string.", param, "invalid_type")
    return value


def _modalities(value: Any, param: str) -> list[str]:
    if not isinstance(value, list) or len(value) != 1 or value[0] not in MODALITIES:
        raise ClientEventError(f"Invalid value for '{param}': one of ['text'] or ['audio'].", param)
    return list(value)


def _tools(value: Any, param: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ClientEventError(f"Invalid type for '{param}': expected an array.", param, "invalid_type")
    for index, tool in enumerate(value):
        if not isinstance(tool, dict) or tool.get("type", "function") != "function" \
                or not isinstance(tool.get("name"), str):
            raise ClientEventError("A tool is a function with a name.", f"{param}[{index}]")
    return value


def _tool_choice(value: Any, param: str) -> Any:
    if value in ("auto", "none", "required"):
        return value
    if isinstance(value, dict) and value.get("type") == "function" and isinstance(value.get("name"), str):
        return value
    raise ClientEventError(f"Invalid value for '{param}': 'auto', 'none', 'required' or a function.", param)


def _max_tokens(value: Any, param: str) -> Any:
    if value == "inf" or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4096):
        return value
    raise ClientEventError(f"Invalid value for '{param}': a number of tokens from 1 to 4096, or 'inf'.", param)


def _audio(settings: dict[str, Any], param: str) -> dict[str, Any]:
    """The session's ``audio`` settings with each side's format checked and spelled in full."""
    for side in ("input", "output"):
        held = settings.get(side)
        if not isinstance(held, dict):
            raise ClientEventError(f"{param}.{side} must be an object.", f"{param}.{side}")
        settings[side] = {**held, "format": _audio_format(held.get("format"), f"{param}.{side}.format")}
    return settings


def _audio_format(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ClientEventError(f"{param} must be an object, e.g. {{\"type\": \"audio/pcm\", \"rate\": 24000}}.",
                               param)
    kind = value.get("type")
    if kind not in LAWS:
        raise ClientEventError(f"Invalid value: {kind!r}. Supported values are: 'audio/pcm', 'audio/pcmu', and "
                               "'audio/pcma'.", f"{param}.type")
    if kind != "audio/pcm":
        return {"type": kind}
    if value.get("rate", events.AUDIO_RATE) != events.AUDIO_RATE:
        raise ClientEventError(f"Invalid value: {value.get('rate')!r}. audio/pcm is 24000 Hz only.", f"{param}.rate")
    return {"type": kind, "rate": events.AUDIO_RATE}


def _merged(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


async def serve(state: AppState, call: SocketCall) -> None:
    """Run one session until the client leaves."""
    granted = call.granted["session"].get("model") if call.granted is not None else None
    model = call.websocket.query_params.get("model") or granted or "gpt-realtime"
    call.model = model
    await Session(state, call, model).run()


__all__ = ["ClientEventError", "Session", "chat_request", "serve", "spoken_seconds"]
