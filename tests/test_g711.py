"""G.711 against the reference codec (CPython's ``audioop``, Sun's g711.c): every 16-bit sample encodes to the
same byte and every byte decodes to the same sample, for both laws."""

from __future__ import annotations

import struct
import warnings

import pytest

from mockserver.generation import audio_tags, g711

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # audioop is deprecated in 3.11, gone in 3.13
    audioop = pytest.importorskip("audioop", reason="the reference codec left the standard library in 3.13")

EVERY_SAMPLE = struct.pack("<65536h", *range(-32_768, 32_768))
EVERY_BYTE = bytes(range(256))


@pytest.mark.parametrize(("law", "encode", "decode"), [("ulaw", "lin2ulaw", "ulaw2lin"),
                                                       ("alaw", "lin2alaw", "alaw2lin")])
def test_each_law_matches_the_reference_codec(law: g711.Law, encode: str, decode: str) -> None:
    assert g711.encode(EVERY_SAMPLE, law) == getattr(audioop, encode)(EVERY_SAMPLE, 2)
    assert g711.decode(EVERY_BYTE, law) == getattr(audioop, decode)(EVERY_BYTE, 2)
    assert g711.levels(EVERY_BYTE, law) == list(struct.unpack("<256h", g711.decode(EVERY_BYTE, law)))


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_a_transcript_marked_in_g711_bytes_survives_a_decode_and_re_encode(law: g711.Law) -> None:
    """A client that decodes the mock's G.711 and encodes it again sends back the same bytes, mark and all."""
    tone = struct.pack("<8000h", *(int(8_000 * ((-1) ** (index // 20))) + index % 7 for index in range(8_000)))
    marked = audio_tags.mark_samples(g711.encode(tone, law), "hello there", width=1)
    assert g711.encode(g711.decode(marked, law), law) == marked
    assert audio_tags.heard_in_samples(marked, width=1) == "hello there"
