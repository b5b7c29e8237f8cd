"""Audio output (``modalities: ["text", "audio"]``): real clips in the requested format.

The gateway of provider doc 004 documents ``modalities`` and ``audio``; the reply's
``message.audio`` must carry an id, base64 data that decodes to a valid file of the
requested format, ``expires_at`` and the transcript, streamed or not.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import wave

import openai
import pytest

from mockserver.conformance import validate_official

from helpers import assert_stream_conforms, parse_sse

ASK = [{"role": "user", "content": "Say something nice about the sea."}]


def _wav(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as clip:
        assert clip.getnchannels() == 1 and clip.getsampwidth() == 2 and clip.getframerate() == 24_000
        return clip.getnframes() / clip.getframerate()


def _flac(data: bytes) -> None:
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0 and data[8:12] != b""


def _frames_after_tag(data: bytes) -> bytes:
    """The audio frames of an mp3 or ADTS clip: after the ID3v2 tag that carries the transcript."""
    assert data[:3] == b"ID3"
    size = data[6] << 21 | data[7] << 14 | data[8] << 7 | data[9]
    return data[10 + size :]


def _mp3(data: bytes) -> None:
    frames = _frames_after_tag(data)
    assert frames[:2] == b"\xff\xfb" and len(frames) % 96 == 0


def _opus(data: bytes) -> None:
    assert data[:4] == b"OggS" and data[28:36] == b"OpusHead"


def _aac(data: bytes) -> None:
    frames = _frames_after_tag(data)
    assert frames[0] == 0xFF and frames[1] & 0xF6 == 0xF0  # ADTS sync word, layer 0


def _pcm16(data: bytes) -> None:
    assert len(data) % 2 == 0 and len(data) >= 24_000  # at least half a second of 16-bit samples
    assert max(abs(sample) for (sample,) in struct.iter_unpack("<h", data[: 48_000])) > 0


CHECKS = {"wav": _wav, "flac": _flac, "mp3": _mp3, "opus": _opus, "aac": _aac, "pcm16": _pcm16}


def _ask(client: openai.OpenAI, fmt: str, **extra):
    return client.chat.completions.create(
        model="gpt-4o-audio-preview", modalities=["text", "audio"], audio={"voice": "alloy", "format": fmt},
        messages=ASK, **extra,
    )


@pytest.mark.parametrize("fmt", list(CHECKS))
def test_message_audio_is_a_real_clip(client: openai.OpenAI, fmt: str) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-audio-preview", modalities=["text", "audio"], audio={"voice": "alloy", "format": fmt},
        messages=ASK,
    )
    body = json.loads(raw.content)
    validate_official("CreateChatCompletionResponse", body)
    completion = raw.parse()
    audio = completion.choices[0].message.audio
    assert audio.id.startswith("audio_") and audio.transcript
    assert audio.expires_at > completion.created
    assert completion.choices[0].message.content is None
    CHECKS[fmt](base64.b64decode(audio.data))
    assert completion.usage.completion_tokens_details.audio_tokens > 0


def test_wav_length_follows_the_transcript(client: openai.OpenAI) -> None:
    audio = _ask(client, "wav").choices[0].message.audio
    seconds = _wav(base64.b64decode(audio.data))
    assert seconds == pytest.approx(max(0.5, len(audio.transcript.split()) / 2.5), abs=0.01)


def test_same_request_same_sound(client: openai.OpenAI) -> None:
    first, second = (_ask(client, "wav").choices[0].message.audio for _ in range(2))
    assert first.data == second.data and first.transcript == second.transcript
    assert first.id != second.id, "ids stay unique per response"


def test_streamed_audio_accumulates_to_the_same_message(client: openai.OpenAI, http) -> None:
    whole = _ask(client, "wav").choices[0].message.audio
    body = {"model": "gpt-4o-audio-preview", "modalities": ["text", "audio"], "stream": True,
            "audio": {"voice": "alloy", "format": "wav"}, "messages": ASK}
    chunks = assert_stream_conforms(parse_sse(http.post("/v1/chat/completions", json=body).content))
    pieces = [chunk["choices"][0]["delta"].get("audio") for chunk in chunks if chunk["choices"]]
    pieces = [piece for piece in pieces if piece]
    assert sum("id" in piece for piece in pieces) == 1, "the id is sent once, or the SDK's accumulator repeats it"
    data = "".join(piece.get("data", "") for piece in pieces)
    transcript = "".join(piece.get("transcript", "") for piece in pieces)
    assert data == whole.data and transcript == whole.transcript
    assert any(isinstance(piece.get("expires_at"), int) for piece in pieces)
    with client.chat.completions.stream(model="gpt-4o-audio-preview", modalities=["text", "audio"],
                                        audio={"voice": "alloy", "format": "wav"}, messages=ASK) as stream:
        final = stream.get_final_completion()
    audio = final.choices[0].message.audio
    assert audio.data == whole.data and audio.transcript == whole.transcript and audio.expires_at
    _wav(base64.b64decode(audio.data))
