"""Encoding: a :class:`~mockserver.chat.Completion` as a JSON body or as SSE frames.

The shapes follow the official OpenAI spec and what real servers put on the
wire (see the README's "Wire fidelity"): ``tool_calls`` is omitted rather than
null, every stream chunk repeats ``id``/``created``/``model``/fingerprint, the
first delta of each choice carries the role, tool-call deltas carry ``id`` and
``name`` once, and the usage chunk has empty ``choices``.

Two facts differ by provider and come from the dialect's data: whether the
reasoning text goes out as ``reasoning_content`` (OpenAI only counts it), and
whether chunks carry OpenAI's ``obfuscation`` pad.

Frames are built as bytes: the envelope shared by every chunk of a stream is
serialised once and each frame only serialises its own choice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import orjson

from mockserver.asgi.outgoing import DONE_FRAME
from mockserver.generation.chat import Choice, Completion

SERVICE_TIER = "default"


dumps = orjson.dumps


def completion_body(completion: Completion, *, reasoning_content: bool = False) -> dict[str, Any]:
    return {
        "id": completion.id,
        "object": "chat.completion",
        "created": completion.created,
        "model": completion.model,
        "choices": [_choice_object(choice, reasoning_content) for choice in completion.choices],
        "usage": completion.usage,
        "service_tier": SERVICE_TIER,
        "system_fingerprint": completion.fingerprint,
    }


def _choice_object(choice: Choice, reasoning_content: bool) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": choice.text, "refusal": None}
    if choice.reasoning and reasoning_content:
        message["reasoning_content"] = "".join(choice.reasoning)
    if choice.tool_calls:
        message["tool_calls"] = [call.as_object() for call in choice.tool_calls]
    if choice.audio is not None:
        message["audio"] = choice.audio
    message["annotations"] = []
    logprobs = None if choice.logprobs is None else {"content": choice.logprobs, "refusal": None}
    return {"index": choice.index, "message": message, "logprobs": logprobs, "finish_reason": choice.finish_reason}


def sse_frames(
    completion: Completion, *, include_usage: bool, reasoning_content: bool = False, obfuscation: bool = False
) -> list[bytes]:
    """Every frame of the stream, ``[DONE]`` included, in wire order.

    With ``n > 1`` the choices are interleaved one delta per chunk, as the real
    API does, starting with choice 0.
    """
    head = dumps(
        {
            "id": completion.id,
            "object": "chat.completion.chunk",
            "created": completion.created,
            "model": completion.model,
            "service_tier": SERVICE_TIER,
            "system_fingerprint": completion.fingerprint,
        }
    )
    prefix = b"data: " + head[:-1] + b',"choices":['
    suffix = b'],"usage":null}\n\n' if include_usage else b"]}\n\n"
    if obfuscation and len(completion.choices) == 1:
        # One choice (nearly every stream): its frames go out in the order they are made, so each is made with
        # its pad at once, the same bytes _obfuscated gives, without copying every frame a second time.
        pads = _pads(completion.id.encode())
        frames = _choice_frames(completion.choices[0], prefix, suffix, reasoning_content, pads)
        if include_usage:
            frames.append(prefix + b'],"usage":' + dumps(completion.usage) + _padded(b"}\n\n", pads))
        frames.append(DONE_FRAME)
        return frames
    per_choice = [_choice_frames(choice, prefix, suffix, reasoning_content) for choice in completion.choices]
    if len(per_choice) == 1:
        frames = per_choice[0]
    else:
        frames = []
        for position in range(max(len(choice_frames) for choice_frames in per_choice)):
            for choice_frames in per_choice:
                if position < len(choice_frames):
                    frames.append(choice_frames[position])
    if include_usage:
        frames.append(prefix + b'],"usage":' + dumps(completion.usage) + b"}\n\n")
    if obfuscation:
        frames = _obfuscated(frames, completion.id.encode())
    frames.append(DONE_FRAME)
    return frames


OBFUSCATION_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" * 4 + b"ABCDEFGH"
MAX_OBFUSCATION = 16


def _obfuscated(frames: list[bytes], seed: bytes) -> list[bytes]:
    """Each chunk with OpenAI's ``obfuscation`` field: 1 to 16 random characters (stable per completion id) that
    blur the length of the delta on the wire."""
    pads = _pads(seed)
    return [_padded(frame, pads) for frame in frames]


PAD_STEP = MAX_OBFUSCATION + 1  # noise bytes a frame's pad is drawn from: its length, then its characters
PAD_OPEN = b',"obfuscation":"'
PAD_CLOSE = b'"}\n\n'


def _pads(seed: bytes) -> Iterator[bytes]:
    """The pad characters of a stream's frames in turn. SHAKE's output for a length is the start of its output for
    any longer one, so the noise is made for a few frames at a time and every frame's pad depends only on ``seed``
    and its place."""
    made, frames = 0, 32
    while True:
        noise = hashlib.shake_256(seed).digest(frames * PAD_STEP).translate(OBFUSCATION_ALPHABET)
        for start in range(made * PAD_STEP, frames * PAD_STEP, PAD_STEP):
            yield noise[start + 1 : start + 2 + noise[start] % MAX_OBFUSCATION]
        made, frames = frames, frames * 4


def _padded(frame: bytes, pads: Iterator[bytes]) -> bytes:
    """``frame`` (ending ``}\\n\\n``) with the next pad as its ``obfuscation`` field."""
    return b"".join((frame[:-3], PAD_OPEN, next(pads), PAD_CLOSE))


def _choice_frames(choice: Choice, prefix: bytes, suffix: bytes, reasoning_content: bool,
                   pads: Iterator[bytes] | None = None) -> list[bytes]:
    """Every frame of this choice, in order: ``prefix`` + the serialised choice object + ``suffix``; with ``pads``,
    each with the next pad as its ``obfuscation`` field."""
    index = choice.index
    frames = []

    def chunk(delta: dict[str, Any], logprobs: Any = None, finish_reason: str | None = None) -> bytes:
        choice_object = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}
        frame = prefix + dumps(choice_object) + suffix
        return frame if pads is None else _padded(frame, pads)

    opening_content = None if (choice.tool_calls or choice.audio is not None) else ""
    frames.append(chunk({"role": "assistant", "content": opening_content, "refusal": None}))
    if reasoning_content:
        frames += _text_deltas(index, b'{"reasoning_content":', choice.reasoning, prefix, suffix, pads=pads)
    if choice.audio is not None:
        frames += [chunk({"audio": delta}) for delta in _audio_deltas(choice.audio)]
    elif choice.content and choice.logprobs is None:
        frames += _text_deltas(index, b'{"content":', choice.content, prefix, suffix, pads=pads)
    elif choice.content:
        for piece, logprob in zip(choice.content, choice.logprobs, strict=False):  # type: ignore[arg-type]
            frames.append(chunk({"content": piece}, {"content": [logprob], "refusal": None}))
    for position, call in enumerate(choice.tool_calls):
        first = {"index": position, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        frames.append(chunk({"tool_calls": [first]}))
        opening = b'{"tool_calls":[{"index":%d,"function":{"arguments":' % position
        frames += _text_deltas(index, opening, call.argument_pieces, prefix, suffix, closing=b"}}]", pads=pads)
    frames.append(chunk({}, None, choice.finish_reason))
    return frames


def _text_deltas(
    index: int, opening: bytes, texts: list[str], prefix: bytes, suffix: bytes, closing: bytes = b"",
    pads: Iterator[bytes] | None = None,
) -> list[bytes]:
    """``prefix + chunk({<opening> text <closing>}) + suffix`` for each text, ``chunk`` being ``dumps`` of the
    whole choice object; with ``pads``, each frame with the next pad as its ``obfuscation`` field.

    One per token, the bulk of every stream: only the text goes through
    ``dumps``, the rest of the frame is the same for every token.
    """
    head = prefix + b'{"index":%d,"delta":' % index + opening
    tail = closing + b'},"logprobs":null,"finish_reason":null}' + suffix
    if pads is None:
        return [head + dumps(text) + tail for text in texts]
    tail = tail[:-3] + PAD_OPEN
    return [b"".join((head, dumps(text), tail, next(pads), PAD_CLOSE)) for text in texts]


AUDIO_DATA_CHUNK = 8192


def _audio_deltas(audio: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Audio streams as the transcript first, then the base64 data in slices, then the expiry."""
    yield {"id": audio["id"], "transcript": audio["transcript"]}
    data = audio["data"]
    for start in range(0, len(data), AUDIO_DATA_CHUNK):
        yield {"data": data[start : start + AUDIO_DATA_CHUNK]}
    yield {"expires_at": audio["expires_at"]}
