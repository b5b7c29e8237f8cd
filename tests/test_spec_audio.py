"""Speech, transcriptions and translations through openai-python over a socket: the mock hears what it said.

Every JSON answer and stream event is checked against the official schemas; a clip the mock made in any
container it makes is transcribed to exactly the text it was made from.
"""

from __future__ import annotations

import base64
import json
import subprocess
from itertools import pairwise
from shutil import which

import httpx2
import openai
import pytest

from mockserver import MockServer
from mockserver.conformance import validate_official
from mockserver.generation import audio_tags, media

from helpers import API_KEY, module_client, module_server

SAID = "The quick brown fox jumps over the lazy dog. Then it naps in the sun!"
FORMATS = ("mp3", "opus", "aac", "flac", "wav")


server = module_server(seed=3)
client = module_client


def conforms(name: str, value: object) -> None:
    validate_official(name, value)


def speak(client: openai.OpenAI, text: str = SAID, fmt: str = "wav", model: str = "tts-1", **extra: object) -> bytes:
    return client.audio.speech.create(model=model, voice="alloy", input=text, response_format=fmt,  # type: ignore[arg-type]
                                      **extra).read()  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_clip_the_mock_made_is_transcribed_to_what_it_says(client: openai.OpenAI, fmt: str) -> None:
    clip = speak(client, fmt=fmt)
    heard = client.audio.transcriptions.create(model="whisper-1", file=(f"speech.{fmt}", clip))
    assert heard.text == SAID
    conforms("CreateTranscriptionResponseJson", heard.model_dump(exclude_none=True))


@pytest.mark.skipif(which("ffprobe") is None, reason="ffprobe decodes the clips")
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_tagged_clip_still_decodes_to_its_length(client: openai.OpenAI, fmt: str, tmp_path: object) -> None:
    clip = speak(client, fmt=fmt)
    path = f"{tmp_path}/clip.{'ogg' if fmt == 'opus' else fmt}"
    with open(path, "wb") as out:
        out.write(clip)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", path],
                           capture_output=True, text=True, check=True, timeout=30)
    spoken = audio_tags.read_spoken(clip)
    assert spoken is not None and probe.stderr == ""
    assert abs(float(json.loads(probe.stdout)["format"]["duration"]) - spoken.seconds) < 0.1


def test_speech_lasts_as_long_as_its_words_take(client: openai.OpenAI) -> None:
    short, slow = speak(client, "one two three four five"), speak(client, "one two three four five", speed=0.5)
    assert audio_tags.read_spoken(short) == audio_tags.Spoken("one two three four five", 2.0)
    assert audio_tags.read_spoken(slow) == audio_tags.Spoken("one two three four five", 4.0)
    samples = [int.from_bytes(clip[40:44], "little") // 2 for clip in (short, slow)]  # the data chunk's size
    assert samples == [2 * media.SAMPLE_RATE, 4 * media.SAMPLE_RATE]


def test_every_response_format(client: openai.OpenAI) -> None:
    clip = speak(client)
    text = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", clip), response_format="text")
    assert text == SAID + "\n"
    srt = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", clip), response_format="srt")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:03,") and "\n\n2\n" in srt and srt.endswith("sun!\n\n")
    vtt = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", clip), response_format="vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ") and "The quick brown fox" in vtt
    verbose = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", clip),
                                                 response_format="verbose_json",
                                                 timestamp_granularities=["word", "segment"])
    body = verbose.model_dump(exclude_none=True)
    conforms("CreateTranscriptionResponseVerboseJson", body)
    assert verbose.text == SAID and verbose.language == "english" and verbose.duration == 6.0
    assert [segment.text for segment in verbose.segments or []] == [" The quick brown fox jumps over the lazy dog.",
                                                                    " Then it naps in the sun!"]
    words = verbose.words or []
    assert [word.word for word in words][:3] == ["The", "quick", "brown"] and words[-1].end == 6.0
    assert all(a.end <= b.start + 1e-9 for a, b in pairwise(words))
    diarized = client.audio.transcriptions.create(model="gpt-4o-transcribe-diarize", file=("a.wav", clip),
                                                  response_format="diarized_json")
    conforms("CreateTranscriptionResponseDiarizedJson", diarized.model_dump(exclude_none=True))
    assert [segment.speaker for segment in diarized.segments] == ["A", "B"]


def test_a_streamed_transcription_is_the_spec_events(client: openai.OpenAI) -> None:
    clip = speak(client, fmt="mp3")
    events = list(client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("a.mp3", clip), stream=True,
                                                     include=["logprobs"]))
    deltas = [event for event in events if event.type == "transcript.text.delta"]
    assert "".join(event.delta for event in deltas) == SAID and len(deltas) > 10
    done = events[-1]
    assert done.type == "transcript.text.done" and done.text == SAID and done.usage is not None
    for event in events:
        conforms("CreateTranscriptionResponseStreamEvent", event.model_dump(exclude_none=True))


def test_streamed_speech_is_the_clip_in_events(client: openai.OpenAI, server: MockServer) -> None:
    raw = httpx2.post(f"{server.url}/audio/speech", headers={"Authorization": f"Bearer {API_KEY}"}, json={
        "model": "gpt-4o-mini-tts", "voice": "alloy", "input": SAID, "stream_format": "sse",
        "response_format": "wav"}, timeout=10)
    frames = [json.loads(frame.removeprefix("data: ")) for frame in raw.text.split("\n\n") if frame]
    for frame in frames:
        conforms("CreateSpeechResponseStreamEvent", frame)
    clip = b"".join(base64.b64decode(frame["audio"]) for frame in frames[:-1])
    assert clip == speak(client, model="gpt-4o-mini-tts") and frames[-1]["usage"]["output_tokens"] == 60


def test_other_audio_is_heard_as_seeded_prose(client: openai.OpenAI) -> None:
    recording = media.audio_clip(b"someone else", "wav", 2.0)  # no transcript inside
    first = client.audio.transcriptions.create(model="whisper-1", file=("mine.wav", recording))
    again = client.audio.transcriptions.create(model="whisper-1", file=("mine.wav", recording))
    other = client.audio.transcriptions.create(model="whisper-1", file=("mine.wav", recording + b"\x00\x00"))
    assert first.text == again.text != other.text and first.text.endswith(".")


def test_translations_answer_in_english(client: openai.OpenAI) -> None:
    clip = speak(client, fmt="flac")
    translated = client.audio.translations.create(model="whisper-1", file=("a.flac", clip),
                                                  response_format="verbose_json")
    conforms("CreateTranslationResponseVerboseJson", translated.model_dump(exclude_none=True))
    assert translated.text == SAID and translated.language == "english"


@pytest.mark.parametrize(("fields", "param"), [
    ({"model": "gpt-4o-transcribe", "response_format": "srt"}, "response_format"),
    ({"model": "whisper-1", "response_format": "diarized_json"}, "response_format"),
    ({"model": "whisper-1", "stream": True}, "stream"),
    ({"model": "whisper-1", "response_format": "json", "timestamp_granularities": ["word"]},
     "timestamp_granularities"),
])
def test_what_a_model_cannot_do_is_a_400_naming_it(client: openai.OpenAI, fields: dict[str, object],
                                                    param: str) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.audio.transcriptions.create(file=("a.wav", speak(client)), **fields)  # type: ignore[call-overload]
    assert refused.value.body["param"] == param  # type: ignore[index]


def test_a_file_that_is_not_audio_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.audio.transcriptions.create(model="whisper-1", file=("notes.txt", b"just text"))
    assert refused.value.body["message"].startswith("Invalid file format.")  # type: ignore[index]


def test_a_chat_reply_with_audio_is_transcribed_to_its_transcript(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="gpt-4o-audio-preview", modalities=["text", "audio"],
                                           audio={"voice": "alloy", "format": "wav"},
                                           messages=[{"role": "user", "content": "Say something."}])
    audio = reply.choices[0].message.audio
    assert audio is not None
    heard = client.audio.transcriptions.create(model="whisper-1", file=("reply.wav", base64.b64decode(audio.data)))
    assert heard.text == audio.transcript
