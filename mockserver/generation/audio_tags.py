"""What a mock-made clip says, written into its container's comment field and read back.

A clip made by ``/audio/speech`` (or a chat reply with audio) carries its transcript and
length where each format keeps comments: a RIFF ``LIST/INFO`` ``ICMT`` in wav, an ID3v2.4
``TXXX`` frame before mp3 and aac frames, a Vorbis comment in flac and Ogg Opus. Players
and decoders skip these fields; ``/audio/transcriptions`` reads them, so the mock
transcribes its own speech exactly. Raw PCM has no place for a tag and carries none.
"""

from __future__ import annotations

import re
import struct
from typing import NamedTuple

MARKER = "mockserver transcript"
VORBIS_KEY = "MOCKSERVER_TRANSCRIPT"
MAX_TAG_BYTES = 64_000
"""A longer transcript is not written (an Ogg page holds 65,025 bytes); the clip is still valid."""
_SPOKEN = re.compile(r"\((\d+(?:\.\d+)?) s\) (.*)", re.DOTALL)
MAX_READ_BYTES = MAX_TAG_BYTES + 64
"""The longest tag field read back: what the writer could have written and its framing. A longer one was not
written by the mock, so it is not read (a 4 MiB comment made an 88 MiB transcription answer)."""


class Spoken(NamedTuple):
    """What a tagged clip says, and for how many seconds."""

    text: str
    seconds: float


def tag_value(text: str, seconds: float) -> str | None:
    value = f"({seconds:.3f} s) {text}"
    return value if len(value.encode()) <= MAX_TAG_BYTES else None


def _spoken(value: str) -> Spoken | None:
    found = _SPOKEN.fullmatch(value)
    return None if found is None else Spoken(found[2], float(found[1]))


# --- writing -----------------------------------------------------------------------------------------------


def riff_info(value: str) -> bytes:
    """A wav ``LIST`` chunk of type ``INFO`` whose comment (``ICMT``) holds the tag."""
    comment = f"{MARKER}: {value}".encode() + b"\x00"
    if len(comment) % 2:
        comment += b"\x00"
    body = b"INFO" + b"ICMT" + struct.pack("<I", len(comment)) + comment
    return b"LIST" + struct.pack("<I", len(body)) + body


def id3_tag(value: str) -> bytes:
    """An ID3v2.4 tag with one ``TXXX`` frame (UTF-8), to put before mp3 or ADTS frames."""
    frame_body = b"\x03" + MARKER.encode() + b"\x00" + value.encode()
    frame = b"TXXX" + _syncsafe(len(frame_body)) + b"\x00\x00" + frame_body
    return b"ID3\x04\x00\x00" + _syncsafe(len(frame)) + frame


def vorbis_comments(value: str) -> bytes:
    """A Vorbis comment list (vendor, then one ``MOCKSERVER_TRANSCRIPT=`` comment), as flac and Opus hold it."""
    vendor = b"mockserver"
    comment = f"{VORBIS_KEY}={value}".encode()
    return struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 1) + struct.pack("<I", len(comment)) + comment


def _syncsafe(size: int) -> bytes:
    return bytes((size >> 21 & 0x7F, size >> 14 & 0x7F, size >> 7 & 0x7F, size & 0x7F))


# --- reading -----------------------------------------------------------------------------------------------


def read_spoken(data: bytes) -> Spoken | None:
    """The transcript and length a mock-made clip carries; None for any other audio."""
    try:
        if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
            return _read_riff(data)
        if data[:3] == b"ID3":
            return _read_id3(data)
        if data[:4] == b"fLaC":
            return _read_flac(data)
        if data[:4] == b"OggS":
            return _read_ogg(data)
    except (struct.error, IndexError, UnicodeDecodeError, ValueError):
        return None
    return None


def _read_riff(data: bytes) -> Spoken | None:
    position = 12
    while position + 8 <= len(data):
        kind, size = struct.unpack_from("<4sI", data, position)
        body = data[position + 8 : position + 8 + size]
        if kind == b"LIST" and body[:4] == b"INFO":
            inner = 4
            while inner + 8 <= len(body):
                field, field_size = struct.unpack_from("<4sI", body, inner)
                if field == b"ICMT" and field_size <= MAX_READ_BYTES:
                    text = body[inner + 8 : inner + 8 + field_size].rstrip(b"\x00").decode()
                    if text.startswith(MARKER + ": "):
                        return _spoken(text[len(MARKER) + 2 :])
                inner += 8 + field_size + field_size % 2
        position += 8 + size + size % 2
    return None


def _read_id3(data: bytes) -> Spoken | None:
    end = 10 + _unsyncsafe(data[6:10])
    position = 10
    while position + 10 <= end:
        kind, size = data[position : position + 4], _unsyncsafe(data[position + 4 : position + 8])
        if kind == b"\x00\x00\x00\x00":
            break
        body = data[position + 10 : position + 10 + size]
        if kind == b"TXXX" and body[:1] == b"\x03" and size <= MAX_READ_BYTES:
            description, _, value = body[1:].partition(b"\x00")
            if description == MARKER.encode():
                return _spoken(value.decode())
        position += 10 + size
    return None


def _read_flac(data: bytes) -> Spoken | None:
    position = 4
    while position + 4 <= len(data):
        header = data[position]
        size = int.from_bytes(data[position + 1 : position + 4], "big")
        if header & 0x7F == 4:
            return _read_vorbis(data[position + 4 : position + 4 + size])
        if header & 0x80:
            break
        position += 4 + size
    return None


def _read_ogg(data: bytes) -> Spoken | None:
    """The second Ogg page's packet: Opus's comment header (``OpusTags``), which fits one page here."""
    position = 0
    for _ in range(2):
        segments = data[position + 26]
        lacing = data[position + 27 : position + 27 + segments]
        start = position + 27 + segments
        packet = data[start : start + sum(lacing)]
        if packet[:8] == b"OpusTags":
            return _read_vorbis(packet[8:])
        position = start + sum(lacing)
    return None


def _read_vorbis(block: bytes) -> Spoken | None:
    (vendor_size,) = struct.unpack_from("<I", block, 0)
    position = 4 + vendor_size
    (count,) = struct.unpack_from("<I", block, position)
    position += 4
    for _ in range(min(count, 1024)):
        (size,) = struct.unpack_from("<I", block, position)
        if size <= MAX_READ_BYTES:
            key, _, value = block[position + 4 : position + 4 + size].decode().partition("=")
            if key.upper() == VORBIS_KEY:
                return _spoken(value)
        position += 4 + size
    return None


def _unsyncsafe(raw: bytes) -> int:
    return raw[0] << 21 | raw[1] << 14 | raw[2] << 7 | raw[3]


PCM_MARK = b"MSPK"
"""The start of a transcript written into raw samples (which have no comment field): one bit a sample, in the least
significant bit, inaudible (1 part in 32,768 of pcm16; G.711's smallest step at the sample's level)."""


def mark_samples(audio: bytes, text: str, width: int = 2) -> bytes:
    """``audio`` (samples of ``width`` bytes, the lowest byte first: pcm16 little-endian, or G.711's one byte)
    carrying ``text`` in its samples' lowest bits, as far as it has samples for (8 a byte, after a 64-bit header):
    the mock's own speech, read back by :func:`heard_in_samples`."""
    payload = PCM_MARK + len(text.encode()).to_bytes(4, "big") + text.encode()
    bits = [(byte >> (7 - position)) & 1 for byte in payload for position in range(8)]
    samples = bytearray(audio)
    for index, bit in enumerate(bits[: len(samples) // width]):
        samples[width * index] = (samples[width * index] & 0xFE) | bit
    return bytes(samples)


def heard_in_samples(audio: bytes, width: int = 2) -> str | None:
    """The transcript :func:`mark_samples` wrote into ``audio``, if it carries a whole one."""

    def read(start: int, count: int) -> bytes | None:
        if len(audio) < width * (start + count) * 8:
            return None
        out = bytearray()
        for byte in range(count):
            value = 0
            for position in range(8):
                value = value << 1 | audio[width * ((start + byte) * 8 + position)] & 1
            out.append(value)
        return bytes(out)

    head = read(0, 8)
    if head is None or head[:4] != PCM_MARK:
        return None
    size = int.from_bytes(head[4:], "big")
    if size > MAX_TAG_BYTES:
        return None
    body = read(8, size)
    return body.decode("utf-8", "replace") if body is not None else None
