"""Speech, transcriptions and translations: the mock hears what it said.

``POST /audio/speech`` makes a clip as long as its input takes to say (2.5 words a second,
over ``speed``) with the input written into the clip (:mod:`mockserver.generation.audio_tags`);
``POST /audio/transcriptions`` and ``/audio/translations`` read it back, so a transcription
of a mock-made clip (or of a chat reply's audio) is its exact text. Any other audio is heard
as seeded prose, the same for the same bytes. Every ``response_format`` is answered (json,
text, srt, vtt, verbose_json with segments and words, diarized_json) and a transcription
streams as the spec's ``transcript.text.*`` events.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from typing import Any

import anyio
from starlette.responses import Response

from mockserver.asgi.outgoing import FramesResponse, event_frame, json_response
from mockserver.determinism import Identity, digest, rng
from mockserver.endpoints.engine.request import Responder, SpecRequest
from mockserver.errors import invalid_request
from mockserver.generation import audio_tags, media, prose
from mockserver.generation.chat import AUDIO_TOKENS_PER_SECOND, AUDIO_WORDS_PER_SECOND
from mockserver.generation.tokens import Tokenizer, encoding_for_model, tokenizer

MAX_SPEECH_SECONDS = 300.0
MIN_SPEECH_SECONDS = 0.5
SPEECH_CHUNK_BYTES = 16_384
"""A streamed speech clip's ``speech.audio.delta`` events carry this many bytes of audio each."""
AUDIO_FILE_FORMATS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
WHISPER = "whisper-1"
DIARIZE = "gpt-4o-transcribe-diarize"
SIMPLE_FORMATS = ("json", "text")
"""What the gpt-4o transcription models answer in; whisper-1 makes every format but diarized_json."""
LANGUAGES = {"en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian", "pt": "portuguese",
             "nl": "dutch", "ja": "japanese", "zh": "chinese", "ko": "korean", "ru": "russian", "pl": "polish"}
_SENTENCE = re.compile(r"[^.!?]+[.!?]*\s*")


async def create_speech(request: SpecRequest) -> Response:
    body = request.body
    fmt = body.get("response_format") or "mp3"
    text = str(body.get("input", ""))
    speed = body.get("speed")
    seconds = speech_seconds(text, float(speed) if isinstance(speed, (int, float)) else 1.0)
    # The sound is content: seeded by what is said and by whom.
    material = digest({"voice": body.get("voice"), "input": text, "model": body.get("model")}, 0)
    try:
        media.audio_mime(fmt)
    except ValueError:
        raise invalid_request(f"The mock cannot make '{fmt}' audio.", param="response_format",
                              code="invalid_value") from None
    clip = await anyio.to_thread.run_sync(media.audio_clip, material, fmt, seconds, text,
                                          limiter=request.state.heavy_work)
    if body.get("stream_format") != "sse":
        return Response(clip, media_type=media.audio_mime(fmt))
    pieces = [clip[start : start + SPEECH_CHUNK_BYTES] for start in range(0, len(clip), SPEECH_CHUNK_BYTES)]
    frames = [event_frame({"type": "speech.audio.delta", "audio": base64.b64encode(piece).decode()}, named=False)
              for piece in pieces]
    input_tokens = _tokenizer(body.get("model")).count(text + str(body.get("instructions") or ""))
    output_tokens = math.ceil(seconds * AUDIO_TOKENS_PER_SECOND)
    usage = {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens}
    frames.append(event_frame({"type": "speech.audio.done", "usage": usage}, named=False))
    return FramesResponse(frames)


def speech_seconds(text: str, speed: float) -> float:
    seconds = len(text.split()) / AUDIO_WORDS_PER_SECOND / max(speed, 0.25)
    return round(min(MAX_SPEECH_SECONDS, max(MIN_SPEECH_SECONDS, seconds)), 3)


async def create_transcription(request: SpecRequest) -> Response:
    return _transcribe(request, task="transcribe")


async def create_translation(request: SpecRequest) -> Response:
    return _transcribe(request, task="translate")


def _transcribe(request: SpecRequest, task: str) -> Response:
    body = request.body
    model = str(body.get("model") or WHISPER)
    fmt = body.get("response_format") or "json"
    upload = request.upload("file")
    data = upload.data if upload is not None else b""
    if request.strict:
        _check(body, model, fmt, upload.filename if upload is not None else "", data)
    heard = hear(data, request.state.config.seed)
    vocabulary = _tokenizer(model)
    if body.get("stream") and task == "transcribe":
        return FramesResponse(_stream(heard, model, body, vocabulary, request.seed))
    if fmt == "text":
        return Response(heard.text + "\n", media_type="text/plain")
    if fmt in ("srt", "vtt"):
        return Response(_subtitles(heard, fmt), media_type="text/plain")
    if fmt == "verbose_json":
        return json_response(_verbose(heard, body, task, vocabulary, request.seed))
    if fmt == "diarized_json":
        return json_response(_diarized(heard, model, vocabulary, request.seed))
    answer: dict[str, Any] = {"text": heard.text, "usage": _usage(heard, model, vocabulary)}
    if "logprobs" in (body.get("include") or []) and model != WHISPER:
        answer["logprobs"] = _logprobs(heard.text, vocabulary, request.seed)
    return json_response(answer)


def hear(data: bytes, seed: int) -> audio_tags.Spoken:
    """What a clip says: its tag when the mock made it, else prose drawn from its bytes."""
    spoken = audio_tags.read_spoken(data)
    if spoken is not None:
        return spoken
    draw = rng(digest({"audio": hashlib.sha256(data).hexdigest()}, seed), "heard")
    text = prose.paragraph(draw, draw.randint(2, 4))
    return audio_tags.Spoken(text, speech_seconds(text, 1.0))


def _check(body: dict[str, Any], model: str, fmt: str, filename: str, data: bytes) -> None:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in AUDIO_FILE_FORMATS and audio_tags.read_spoken(data) is None and not _sounds_like_audio(data):
        raise invalid_request(f"Invalid file format. Supported formats: {list(AUDIO_FILE_FORMATS)}", param="file",
                              code="invalid_value")
    if model != WHISPER and fmt not in SIMPLE_FORMATS + (("diarized_json", "text") if model == DIARIZE else ()):
        raise invalid_request(f"response_format '{fmt}' is not compatible with model '{model}'. Use 'json' or "
                              "'text'.", param="response_format", code="unsupported_value")
    if fmt == "diarized_json" and model != DIARIZE:
        raise invalid_request(f"response_format 'diarized_json' is only available with '{DIARIZE}'.",
                              param="response_format", code="unsupported_value")
    if body.get("stream") and model == WHISPER:
        raise invalid_request(f"Streaming is not supported for model '{WHISPER}'.", param="stream",
                              code="unsupported_value")
    if body.get("timestamp_granularities") and fmt != "verbose_json":
        raise invalid_request("timestamp_granularities is only supported with response_format 'verbose_json'.",
                              param="timestamp_granularities", code="unsupported_value")


def _sounds_like_audio(data: bytes) -> bool:
    return data[:4] in (b"RIFF", b"fLaC", b"OggS", b"\x1aE\xdf\xa3") or data[:3] == b"ID3" or data[4:8] == b"ftyp" \
        or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def _tokenizer(model: Any) -> Tokenizer:
    return tokenizer(encoding_for_model(str(model or WHISPER)))


def _usage(heard: audio_tags.Spoken, model: str, vocabulary: Tokenizer) -> dict[str, Any]:
    if model == WHISPER:
        return {"type": "duration", "seconds": math.ceil(heard.seconds)}
    audio_tokens = math.ceil(heard.seconds * AUDIO_TOKENS_PER_SECOND)
    output = vocabulary.count(heard.text)
    return {"type": "tokens", "input_tokens": audio_tokens,
            "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
            "output_tokens": output, "total_tokens": audio_tokens + output}


class _Timed:
    """The text cut into sentences, each with its place in the clip, words spread evenly by count."""

    def __init__(self, heard: audio_tags.Spoken) -> None:
        sentences = [found.group().strip() for found in _SENTENCE.finditer(heard.text) if found.group().strip()]
        self.sentences = sentences or [heard.text]
        words = [sentence.split() for sentence in self.sentences]
        total = max(1, sum(len(each) for each in words))
        step = heard.seconds / total
        self.spans: list[tuple[float, float]] = []
        self.words: list[tuple[str, float, float]] = []
        position = 0
        for each in words:
            start = position
            for word in each:
                self.words.append((word.strip(".,!?;:"), round(position * step, 2), round((position + 1) * step, 2)))
                position += 1
            self.spans.append((round(start * step, 2), round(position * step, 2)))


def _segments(timed: _Timed, body: dict[str, Any], vocabulary: Tokenizer, seed: bytes) -> list[Any]:
    draw = rng(seed, "segments")
    segments = []
    for index, (text, (start, end)) in enumerate(zip(timed.sentences, timed.spans, strict=True)):
        segments.append({
            "id": index, "seek": int(start * 100), "start": start, "end": end, "text": " " + text,
            "tokens": vocabulary.encode(" " + text), "temperature": float(body.get("temperature") or 0.0),
            "avg_logprob": round(-draw.uniform(0.1, 0.4), 6), "compression_ratio": round(draw.uniform(1.1, 1.7), 6),
            "no_speech_prob": round(draw.uniform(0.0, 0.02), 6),
        })
    return segments


def _verbose(heard: audio_tags.Spoken, body: dict[str, Any], task: str, vocabulary: Tokenizer,
             seed: bytes) -> dict[str, Any]:
    language = "english" if task == "translate" else LANGUAGES.get(str(body.get("language") or "en"),
                                                                     str(body.get("language")))
    answer: dict[str, Any] = {"task": task, "language": language, "duration": heard.seconds, "text": heard.text}
    granularities = body.get("timestamp_granularities") or ["segment"]
    granularities = granularities if isinstance(granularities, list) else [granularities]
    timed = _Timed(heard)
    if "segment" in granularities or task == "translate":
        answer["segments"] = _segments(timed, body, vocabulary, seed)
    if "word" in granularities and task == "transcribe":
        answer["words"] = [{"word": word, "start": start, "end": end} for word, start, end in timed.words]
    if task == "transcribe":
        answer["usage"] = {"type": "duration", "seconds": math.ceil(heard.seconds)}
    return answer


def _diarized(heard: audio_tags.Spoken, model: str, vocabulary: Tokenizer, seed: bytes) -> dict[str, Any]:
    return {"task": "transcribe", "duration": heard.seconds, "text": heard.text,
            "segments": _speaker_segments(heard, seed), "usage": _usage(heard, model, vocabulary)}


def _speaker_segments(heard: audio_tags.Spoken, seed: bytes) -> list[dict[str, Any]]:
    """Sentences as turns of two speakers, ``A`` and ``B``, in turn."""
    timed = _Timed(heard)
    return [{"type": "transcript.text.segment", "id": Identity.make_id("seg_", seed + bytes([index % 256]), 12),
             "start": start, "end": end, "text": text, "speaker": "AB"[index % 2]}
            for index, (text, (start, end)) in enumerate(zip(timed.sentences, timed.spans, strict=True))]


def _subtitles(heard: audio_tags.Spoken, fmt: str) -> str:
    timed = _Timed(heard)
    comma = "," if fmt == "srt" else "."
    cues = []
    for index, (text, (start, end)) in enumerate(zip(timed.sentences, timed.spans, strict=True), 1):
        span = f"{_clock(start, comma)} --> {_clock(end, comma)}"
        cues.append(f"{index}\n{span}\n{text}\n" if fmt == "srt" else f"{span}\n{text}\n")
    return "\n".join(cues) + "\n" if fmt == "srt" else "WEBVTT\n\n" + "\n".join(cues) + "\n"


def _clock(seconds: float, comma: str) -> str:
    millis = round(seconds * 1000)
    return f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}{comma}{millis % 1000:03d}"


def _logprobs(text: str, vocabulary: Tokenizer, seed: bytes) -> list[dict[str, Any]]:
    draw = rng(seed, "logprobs")
    pieces, _ = vocabulary.pieces(text)
    return [{"token": piece, "logprob": -round(abs(draw.gauss(0.0, 0.4)), 6), "bytes": list(piece.encode())}
            for piece in pieces]


def _stream(heard: audio_tags.Spoken, model: str, body: dict[str, Any], vocabulary: Tokenizer,
            seed: bytes) -> list[bytes]:
    """``transcript.text.delta`` a token at a time (or a ``transcript.text.segment`` per turn when diarizing),
    then ``transcript.text.done`` with the text and usage."""
    with_logprobs = "logprobs" in (body.get("include") or [])
    frames = [event_frame(segment, named=False) for segment in _speaker_segments(heard, seed)] \
        if model == DIARIZE else []
    logprobs = _logprobs(heard.text, vocabulary, seed) if model != DIARIZE else []
    for entry in logprobs:
        delta: dict[str, Any] = {"type": "transcript.text.delta", "delta": entry["token"]}
        if with_logprobs:
            delta["logprobs"] = [entry]
        frames.append(event_frame(delta, named=False))
    usage = _usage(heard, model if model != WHISPER else "gpt-4o-transcribe", vocabulary)
    done: dict[str, Any] = {"type": "transcript.text.done", "text": heard.text, "usage": usage}
    if with_logprobs and model != DIARIZE:
        done["logprobs"] = logprobs
    frames.append(event_frame(done, named=False))
    return frames


RESPONDERS: dict[str, Responder] = {
    "createSpeech": create_speech,
    "createTranscription": create_transcription,
    "createTranslation": create_translation,
}
