"""G.711 (ITU-T): 8 kHz telephony audio as one companded byte a sample, μ-law (``audio/pcmu``) or A-law
(``audio/pcma``), to and from 16-bit linear pcm.

Each law's 256 byte values decode through a table, and 16-bit samples encode through a table of all 65,536 of
them, each made once when first used: coding a second of audio is 8,000 lookups.
"""

from __future__ import annotations

import sys
from array import array
from functools import cache
from typing import Literal

Law = Literal["ulaw", "alaw"]
RATE = 8_000
_ULAW_BIAS = 0x84
_ULAW_CLIP = 8_158
_ALAW_SEGMENT_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _ulaw_byte(sample: int) -> int:
    value = sample >> 2  # μ-law codes 14 bits
    sign = 0x80 if value < 0 else 0
    magnitude = min(-value if value < 0 else value, _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    exponent = max(magnitude.bit_length() - 6, 0)  # the segment: where the biased magnitude's top bit is, past 2^5
    mantissa = magnitude >> (exponent + 1) & 0x0F
    return ~(sign | exponent << 4 | mantissa) & 0xFF


def _ulaw_sample(byte: int) -> int:
    byte = ~byte & 0xFF
    magnitude = ((byte & 0x0F) << 3 | _ULAW_BIAS) << (byte >> 4 & 0x07)
    return _ULAW_BIAS - magnitude if byte & 0x80 else magnitude - _ULAW_BIAS


def _alaw_byte(sample: int) -> int:
    value = sample >> 3  # A-law codes 13 bits
    if value >= 0:
        mask = 0xD5
    else:
        mask, value = 0x55, -value - 1
    segment = next((index for index, end in enumerate(_ALAW_SEGMENT_ENDS) if value <= end), 8)
    if segment == 8:
        return 0x7F ^ mask
    mantissa = (value >> 1 if segment < 2 else value >> segment) & 0x0F
    return (segment << 4 | mantissa) ^ mask


def _alaw_sample(byte: int) -> int:
    byte ^= 0x55
    magnitude = (byte & 0x0F) << 4
    segment = byte >> 4 & 0x07
    if segment == 0:
        magnitude += 8
    else:
        magnitude = (magnitude + 0x108) << (segment - 1)
    return magnitude if byte & 0x80 else -magnitude


@cache
def _samples(law: Law) -> tuple[int, ...]:
    decode = _ulaw_sample if law == "ulaw" else _alaw_sample
    return tuple(decode(byte) for byte in range(256))


@cache
def _pcm_of_bytes(law: Law) -> tuple[bytes, ...]:
    return tuple(sample.to_bytes(2, "little", signed=True) for sample in _samples(law))


@cache
def _bytes_of_samples(law: Law) -> bytes:
    """Each 16-bit sample's byte, indexed by the sample read as unsigned."""
    encode = _ulaw_byte if law == "ulaw" else _alaw_byte
    return bytes(encode(index - 65_536 if index >= 32_768 else index) for index in range(65_536))


def encode(pcm: bytes, law: Law) -> bytes:
    """``pcm`` (16-bit little-endian samples, a trailing odd byte ignored) as one G.711 byte a sample."""
    samples = array("H", pcm[: len(pcm) // 2 * 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return bytes(map(_bytes_of_samples(law).__getitem__, samples))


def decode(data: bytes, law: Law) -> bytes:
    """G.711 bytes as 16-bit little-endian pcm."""
    return b"".join(map(_pcm_of_bytes(law).__getitem__, data))


def levels(data: bytes | memoryview, law: Law) -> list[int]:
    """The linear samples G.711 bytes stand for."""
    return list(map(_samples(law).__getitem__, data))


__all__ = ["RATE", "Law", "decode", "encode", "levels"]
