"""Synthetic media: the images and audio clips the mock returns instead of generations.

Code under test decodes what a provider sends (an SDK user opens the returned PNG
with Pillow, a voice app hands chat audio to a player), so every file built here is
a real, valid file of its format. The content is cheap but honest: a seeded
landscape or tone rather than noise, and always a pure function of the seed (no
global random state, no clock, no libm transcendental whose last bit could differ
between platforms) so snapshots and fixtures stay stable: pixels and samples are
exact everywhere, though compressed PNG bytes also depend on the zlib build.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import math
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from mockserver.generation import audio_tags

MAX_SIDE = 4096
"""Largest width or height accepted: above every real model's size, small enough that
a typo such as ``"10240x10240"`` cannot make the mock build a gigabyte of pixels."""

SAMPLE_RATE = 24_000
"""OpenAI's speech output rate; wav, pcm16, flac and aac clips use it."""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_BIT_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_SIZE = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")


def _seeded(seed: bytes, label: bytes, count: int) -> bytes:
    """``count`` bytes derived from ``seed``; ``label`` keeps each medium's stream independent."""
    return hashlib.shake_256(label + b"\0" + seed).digest(count)


def _check_side(width: int, height: int) -> None:
    for name, side in (("width", width), ("height", height)):
        if not isinstance(side, int) or not 1 <= side <= MAX_SIDE:
            raise ValueError(f"image {name} must be an integer from 1 to {MAX_SIDE}, got {side!r}")


def parse_size(size: str) -> tuple[int, int]:
    """Parse an images API ``size`` such as ``"1024x1536"`` into ``(width, height)``.

    Only the ``WIDTHxHEIGHT`` form is understood: which sizes a model allows, and
    what ``"auto"`` means for it, is the endpoint's decision.
    """
    match = _SIZE.fullmatch(size) if isinstance(size, str) else None
    if match is None:
        raise ValueError(f"invalid size {size!r}: expected WIDTHxHEIGHT such as '1024x1024'")
    width, height = int(match[1]), int(match[2])
    _check_side(width, height)
    return width, height


# --- images -------------------------------------------------------------------------


def _rgb(hue: float, lightness: float, saturation: float) -> bytes:
    return bytes(round(c * 255) for c in colorsys.hls_to_rgb(hue % 1.0, lightness, saturation))


def _mix(a: bytes, b: bytes, num: int, den: int) -> bytes:
    return bytes(x + (y - x) * num // den for x, y in zip(a, b, strict=False))


def _gradient(stops: list[bytes], count: int, bpp: int) -> bytes:
    """``count`` pixels running evenly through the RGB colour ``stops``, one channel at a
    time so the work is a few comprehensions; a fourth channel, if any, stays 0."""
    segments, last = len(stops) - 1, max(count - 1, 1)
    positions = [i * segments * 256 // last for i in range(count)]
    starts = [min(pos >> 8, segments - 1) for pos in positions]
    out = bytearray(count * bpp)
    for c in range(3):
        out[c::bpp] = bytes(
            stops[k][c] + (stops[k + 1][c] - stops[k][c]) * (pos - (k << 8)) // 256
            for pos, k in zip(positions, starts, strict=True)
        )
    return bytes(out)


def _scene(seed: bytes, width: int, height: int, alpha: bool) -> list[bytearray]:
    """The rows of a seeded landscape: sky gradient, sun, clouds and two hills.

    Every row starts as a slice of one diagonal gradient strip, and each shape then
    pastes one flat span per row it crosses, so a 1536x1024 picture costs a few
    thousand bytes operations rather than a Python step per pixel, and compresses
    well. With ``alpha`` the sky is fully transparent and the shapes opaque, like a
    gpt-image ``background: "transparent"`` cut-out.
    """
    params = iter(_seeded(seed, b"image", 64))

    def unit() -> float:
        return next(params) / 255

    hue = unit()
    rising = next(params) & 1
    bpp = 4 if alpha else 3
    opaque = b"\xff" if alpha else b""
    stops = [_rgb(hue + 0.02, 0.86, 0.55), _rgb(hue + 0.10, 0.74, 0.50), _rgb(hue + 0.20, 0.62, 0.45)]
    strip = _gradient(stops, width + height - 1, bpp)
    rows = [
        bytearray(strip[o * bpp : (o + width) * bpp])
        for o in (range(height - 1, -1, -1) if rising else range(height))
    ]

    side = min(width, height)
    shapes: list[tuple[int, int, int, bytes, bytes]] = []  # centre x, centre y, radius, top and bottom colour
    sun_r = max(1, round(side * (0.07 + 0.07 * unit())))
    shapes.append((round(width * (0.15 + 0.7 * unit())), round(height * (0.12 + 0.25 * unit())), sun_r,
                   _rgb(hue + 0.5, 0.82, 0.85), _rgb(hue + 0.45, 0.70, 0.85)))
    for _ in range(1 + next(params) % 3):
        cx, cy = round(width * unit()), round(height * (0.08 + 0.35 * unit()))
        cr = max(1, round(side * (0.03 + 0.04 * unit())))
        light, shade = _rgb(hue, 0.96, 0.30), _rgb(hue + 0.05, 0.88, 0.25)
        for dx, dy, scale in ((-1.1, 0.35, 0.75), (0.0, 0.0, 1.0), (1.1, 0.35, 0.75)):
            shapes.append((cx + round(dx * cr), cy + round(dy * cr), max(1, round(cr * scale)), light, shade))
    for depth in (0, 1):
        r = max(1, round(width * (0.55 + 0.35 * unit())))
        top = round(height * (0.55 + 0.12 * depth + 0.15 * unit()))
        shapes.append((round(width * unit()), top + r, r,
                       _rgb(hue + 0.33, 0.42 - 0.10 * depth, 0.35), _rgb(hue + 0.36, 0.14, 0.40)))

    for cx, cy, r, top_colour, bottom_colour in shapes:
        # Shade from the disc's upper edge to its lowest visible row.
        first, last = max(0, cy - r), min(height - 1, cy + r)
        shade_rows = max(1, last - (cy - r))
        for y in range(first, last + 1):
            dx = math.isqrt(r * r - (y - cy) ** 2)
            x0, x1 = max(0, cx - dx), min(width, cx + dx + 1)
            if x0 < x1:
                colour = _mix(top_colour, bottom_colour, y - (cy - r), shade_rows) + opaque
                rows[y][x0 * bpp : x1 * bpp] = colour * (x1 - x0)
    return rows


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(body, zlib.crc32(kind)))


def png_image(seed: bytes, width: int, height: int, *, transparent: bool = False) -> bytes:
    """A valid 8-bit PNG (RGB, or RGBA with a transparent sky) whose picture depends on ``seed``.

    Rows use filter type 0 and zlib level 3: the picture is a shifted copy of the row
    above plus flat spans, which deflate's fast levels find on their own. Level 3
    costs the same time as 1 for a smaller file; level 6 would halve the size again
    but double the compression time, pushing a 1536x1024 RGBA image past 30 ms. Rows
    are fed to zlib one by one, which releases the GIL while it works, so a large
    picture drawn on a worker thread leaves the event loop free.
    """
    _check_side(width, height)
    deflate = zlib.compressobj(3)
    compressed = [deflate.compress(b"\x00" + row) for row in _scene(seed, width, height, transparent)]
    compressed.append(deflate.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if transparent else 2, 0, 0, 0)
    chunks = (_png_chunk(b"IHDR", header), _png_chunk(b"IDAT", b"".join(compressed)), _png_chunk(b"IEND", b""))
    return _PNG_SIGNATURE + b"".join(chunks)


def _jpeg_codes(counts: tuple[int, ...]) -> list[str]:
    """Canonical Huffman codes, as bit strings, for a JPEG DHT table's per-length ``counts``."""
    codes, code = [], 0
    for length, count in enumerate(counts, 1):
        for _ in range(count):
            codes.append(format(code, f"0{length}b"))
            code += 1
        code <<= 1
    return codes


_JPEG_DC_COUNTS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)  # ITU T.81 table K.3
_JPEG_AC_COUNTS = (1,) + (0,) * 15  # one symbol: end-of-block, coded as "0"
_JPEG_DC = _jpeg_codes(_JPEG_DC_COUNTS)


def _jpeg_block(diff: int) -> str:
    """The bits of one 8x8 block whose only non-zero coefficient is DC, given its DC delta."""
    size = abs(diff).bit_length()
    extra = format(diff if diff >= 0 else diff + (1 << size) - 1, f"0{size}b") if size else ""
    return _JPEG_DC[size] + extra + "0"


_JPEG_BLOCKS = [_jpeg_block(diff) for diff in range(-255, 256)]


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


def jpeg_image(seed: bytes, width: int, height: int) -> bytes:
    """A valid baseline JPEG of the same scene as :func:`png_image`, in flat 8x8 blocks.

    Each block carries only its DC coefficient (the colour at the block's centre),
    so the encoder needs no DCT and one table lookup per block: a real JPEG any
    decoder opens, at the cost of visibly blocky edges.
    """
    _check_side(width, height)
    rows = _scene(seed, width, height, False)
    lum, blue, red = [], [], []
    for y in range(4, height + 7 - (height + 7) % 8, 8):
        line = rows[min(y, height - 1)]
        line = line + line[-3:] * 4  # the last block's centre may lie past the right edge
        for r, g, b in zip(line[12::24], line[13::24], line[14::24], strict=False):
            lum.append(((19595 * r + 38470 * g + 7471 * b + 32768) >> 16) - 128)
            blue.append(min(127, (-11059 * r - 21709 * g + 32768 * b + 32768) >> 16))
            red.append(min(127, (32768 * r - 27439 * g - 5329 * b + 32768) >> 16))
    deltas = [
        [value - before + 255 for value, before in zip(channel, [0, *channel], strict=False)]
        for channel in (lum, blue, red)
    ]
    blocks = [_JPEG_BLOCKS[delta] for mcu in zip(*deltas, strict=False) for delta in mcu]
    bits = "".join(blocks)
    bits += "1" * (-len(bits) % 8)
    scan = int(bits, 2).to_bytes(len(bits) // 8, "big").replace(b"\xff", b"\xff\x00")
    return b"".join((
        b"\xff\xd8",
        _jpeg_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
        _jpeg_segment(0xDB, b"\x00" + b"\x08" * 64),  # DC quantiser 8 turns a block mean into mean - 128
        _jpeg_segment(0xC0, struct.pack(">BHHB", 8, height, width, 3) + bytes((1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0))),
        _jpeg_segment(0xC4, bytes((0x00, *_JPEG_DC_COUNTS, *range(12), 0x10, *_JPEG_AC_COUNTS, 0x00))),
        _jpeg_segment(0xDA, bytes((3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0))),
        scan,
        b"\xff\xd9",
    ))


_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))
_VP8L_FLAT_CODE = [(0, 1), (8, 4)] + [(0, 3)] * 11 + [(1, 3)]
"""A "normal" VP8L prefix code whose code-length code has the single symbol 8: every
code length it spells is 8 and costs no bits, so the code is 8 bits per symbol."""
_VP8L_SINGLE_ZERO = [(1, 1), (0, 1), (0, 1), (0, 1)]  # "simple" code: the one symbol 0, in zero bits
_VP8L_SINGLE_255 = [(1, 1), (0, 1), (1, 1), (255, 8)]  # "simple" code: the one symbol 255


def webp_image(seed: bytes, width: int, height: int, *, transparent: bool = False) -> bytes:
    """A valid lossless WebP (VP8L) of the same scene as :func:`png_image`, left uncompressed.

    Green, red, blue (and alpha) get flat 8-bit prefix codes, so each pixel is just its
    channel bytes, bit-reversed, in VP8L's order: a byte shuffle instead of an entropy
    coder. Files run 3 bytes per pixel (4 with ``transparent``): honest, but large.
    """
    _check_side(width, height)
    bpp = 4 if transparent else 3
    order = (1, 0, 2, 3)[:bpp]

    def vp8l_rows() -> Iterator[bytearray]:
        for row in _scene(seed, width, height, transparent):
            pixels = bytearray(len(row))
            for target, source in enumerate(order):
                pixels[target::bpp] = row[source::bpp]
            yield pixels.translate(_BIT_REVERSED)

    fields = [(0x2F, 8), (width - 1, 14), (height - 1, 14), (int(transparent), 1), (0, 3)]
    fields += [(0, 1), (0, 1), (0, 1)]  # no transforms, no colour cache, one prefix-code group
    fields += [*_VP8L_FLAT_CODE, (1, 1), (3, 3), (254, 8)]  # green: 256 literal lengths, no length codes
    fields += [*_VP8L_FLAT_CODE, (0, 1)]  # red
    fields += [*_VP8L_FLAT_CODE, (0, 1)]  # blue
    fields += ([*_VP8L_FLAT_CODE, (0, 1)]) if transparent else _VP8L_SINGLE_255  # alpha
    fields += _VP8L_SINGLE_ZERO  # distance: never used, as there are no back-references
    bits = offset = 0
    for value, size in fields:
        bits |= value << offset
        offset += size
    data = _append_bits(bits, offset, vp8l_rows())
    padding = b"\x00" * (len(data) & 1)
    riff_size = struct.pack("<I", 12 + len(data) + len(padding))
    return b"".join((b"RIFF", riff_size, b"WEBPVP8L", struct.pack("<I", len(data)), data, padding))


def _append_bits(head: int, head_bits: int, pieces: Iterable[bytes | bytearray]) -> bytes:
    """The little-endian bit stream of ``head`` (``head_bits`` long) followed by the bytes of ``pieces``.

    Shifting piece by piece (a row at a time) keeps each step short: one big-integer
    shift of a 50 MB picture would hold the GIL for ~80 ms.
    """
    whole, shift = divmod(head_bits, 8)
    out = [head.to_bytes(whole + 1, "little")[:whole]]
    carry = head >> (whole * 8)
    for piece in pieces:
        size = 8 * len(piece)
        value = carry | int.from_bytes(piece, "little") << shift
        out.append((value & ((1 << size) - 1)).to_bytes(len(piece), "little"))
        carry = value >> size
    if shift:
        out.append(bytes((carry,)))
    return b"".join(out)


class PngInfo(NamedTuple):
    """What the images endpoints need to know about an uploaded PNG."""

    width: int
    height: int
    color_type: int
    bit_depth: int
    has_alpha: bool


def read_png_info(data: bytes) -> PngInfo:
    """Read and check an uploaded PNG's header, for /images/edits and /images/variations.

    Walks every chunk and verifies its CRC, so a truncated or corrupted upload is
    refused with a message a person can act on instead of a bogus success. ``has_alpha``
    is true for grey+alpha and RGBA images and for any image with a ``tRNS`` chunk,
    the cases in which a mask's transparent pixels mean something.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)) or bytes(data[:8]) != _PNG_SIGNATURE:
        raise ValueError("not a PNG image: the file does not start with the PNG signature")
    view = memoryview(data)
    pos, header, has_trns, has_idat = 8, None, False, False
    while True:
        if pos + 12 > len(view):
            raise ValueError("truncated PNG image: the file ends before its IEND chunk")
        length, kind = struct.unpack_from(">I4s", view, pos)
        end = pos + 12 + length
        if end > len(view):
            raise ValueError(f"truncated PNG image: the {kind.decode('latin-1')!r} chunk runs past the end of the file")
        body = view[pos + 8 : end - 4]
        if zlib.crc32(body, zlib.crc32(kind)) != struct.unpack_from(">I", view, end - 4)[0]:
            raise ValueError(f"corrupt PNG image: bad CRC in the {kind.decode('latin-1')!r} chunk")
        if header is None:
            if kind != b"IHDR" or length != 13:
                raise ValueError("corrupt PNG image: the first chunk is not a valid IHDR")
            header = struct.unpack(">IIBB", body[:10])
            width, height, bit_depth, color_type = header
            if not (width and height) or bit_depth not in _PNG_BIT_DEPTHS.get(color_type, ()):
                raise ValueError("corrupt PNG image: impossible size, colour type or bit depth in IHDR")
        elif kind == b"tRNS":
            has_trns = True
        elif kind == b"IDAT":
            has_idat = True
        elif kind == b"IEND":
            break
        pos = end
    if not has_idat:
        raise ValueError("corrupt PNG image: no IDAT chunk holds pixel data")
    return PngInfo(width, height, color_type, bit_depth, color_type in (4, 6) or has_trns)


# --- audio --------------------------------------------------------------------------


def _crc_table(poly: int, width: int) -> list[int]:
    top, mask = 1 << (width - 1), (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly if crc & top else crc << 1) & mask
        table.append(crc)
    return table


def _crc(data: bytes, table: list[int], width: int) -> int:
    """MSB-first CRC with zero initial value and no final xor: the form FLAC and Ogg use."""
    shift, mask, crc = width - 8, (1 << width) - 1, 0
    for byte in data:
        crc = ((crc << 8) & mask) ^ table[(crc >> shift) ^ byte]
    return crc


_CRC8 = _crc_table(0x07, 8)
_CRC16 = _crc_table(0x8005, 16)
_CRC32 = _crc_table(0x04C11DB7, 32)


def _sine_table(size: int, amplitude: int) -> list[int]:
    """One period of a sine, from a Taylor series built with + and * only.

    IEEE arithmetic is exact-rounded everywhere while libm's ``sin`` is not
    guaranteed to be, so this keeps the tone bit-identical across platforms.
    """
    quarter = size // 4
    values = []
    for k in range(quarter + 1):
        x = math.pi / 2 * k / quarter
        term = total = x
        for n in range(3, 26, 2):
            term *= -x * x / ((n - 1) * n)
            total += term
        values.append(round(amplitude * total))
    half = values[:quarter] + values[quarter:0:-1]
    return half + [-v for v in half]


_SINE = _sine_table(4096, 1 << 15)
_PITCHES = (196, 220, 246, 262, 294, 330, 392, 440)  # even hertz, so the fifth above is whole too
_FADE = SAMPLE_RATE // 50


def _frames(seconds: float, samples_per_frame: int, rate: int) -> int:
    """Whole frames closest to ``seconds``, never zero: an empty stream is not a valid file."""
    return max(1, round(seconds * rate / samples_per_frame))


@functools.cache
def _tone_second(pitch: int, pulse: int) -> bytes:
    """One second of tone as 16-bit little-endian PCM: ``pitch`` with a quieter fifth above,
    swelling gently ``pulse`` times a second. Every rate is whole hertz, so the second
    holds whole cycles and a clip of any length is this buffer repeated. Integer
    arithmetic only, so the samples are exact on every platform."""
    size = len(_SINE)

    def wave(hertz: int, i: int) -> int:
        return _SINE[hertz * i * size // SAMPLE_RATE % size]

    fifth = pitch * 3 // 2
    # Amplitudes 5000 and 1400 of 32767, swelling between 3/4 and full: soft, never clipping.
    samples = (
        (5000 * wave(pitch, i) + 1400 * wave(fifth, i)) * (7 * (1 << 15) + wave(pulse, i)) >> 33
        for i in range(SAMPLE_RATE)
    )
    return struct.pack(f"<{SAMPLE_RATE}h", *samples)


def _tone(seed: bytes, count: int) -> bytes:
    """``count`` samples of the seed's tone as 16-bit little-endian PCM at 24 kHz, with
    20 ms fades so the clip starts and ends without a click."""
    pick = _seeded(seed, b"audio", 2)
    second = _tone_second(_PITCHES[pick[0] % len(_PITCHES)], 1 + pick[1] % 3)
    pcm = bytearray((second * (count // SAMPLE_RATE + 1))[: 2 * count])
    fade = min(_FADE, count // 2)
    head = struct.unpack_from(f"<{fade}h", pcm, 0)
    struct.pack_into(f"<{fade}h", pcm, 0, *(v * i // _FADE for i, v in enumerate(head)))
    tail = struct.unpack_from(f"<{fade}h", pcm, 2 * (count - fade))
    struct.pack_into(f"<{fade}h", pcm, 2 * (count - fade), *(v * (fade - 1 - i) // _FADE for i, v in enumerate(tail)))
    return bytes(pcm)


def _pcm16(seed: bytes, seconds: float, tag: str | None = None) -> bytes:
    return _tone(seed, _frames(seconds, 1, SAMPLE_RATE))


def _wav(seed: bytes, seconds: float, tag: str | None = None) -> bytes:
    pcm = _pcm16(seed, seconds)
    info = audio_tags.riff_info(tag) if tag is not None else b""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(pcm) + len(info), b"WAVE", b"fmt ", 16, 1, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16, b"data",
        len(pcm),
    ) + pcm + info


_FLAC_BLOCK = 4096


def _flac_utf8(value: int) -> bytes:
    """FLAC's frame number coding: UTF-8's scheme stretched to 36 bits."""
    if value < 0x80:
        return bytes((value,))
    extra = next(n for n in range(1, 7) if value < 1 << (5 * n + 6))
    lead = ((0xFF00 >> (extra + 1)) & 0xFF) | (value >> (6 * extra))
    return bytes((lead, *(0x80 | (value >> (6 * i)) & 0x3F for i in range(extra - 1, -1, -1))))


def _flac(seed: bytes, seconds: float, tag: str | None = None) -> bytes:
    """FLAC with one VERBATIM subframe per 4096-sample frame: valid, lossless, and needs
    no predictor or Rice coder, at the price of no compression."""
    count = _frames(seconds, 1, SAMPLE_RATE)
    pcm = _tone(seed, count)
    big_endian = bytearray(len(pcm))
    big_endian[0::2], big_endian[1::2] = pcm[1::2], pcm[0::2]
    frames = []
    for number, start in enumerate(range(0, count, _FLAC_BLOCK)):
        block = min(_FLAC_BLOCK, count - start)
        size_code, size_tail = (0xC, b"") if block == _FLAC_BLOCK else (0x7, struct.pack(">H", block - 1))
        # sync + fixed blocking; block size code; 24 kHz; mono; 16 bits per sample
        header = bytes((0xFF, 0xF8, size_code << 4 | 0x7, 0x08)) + _flac_utf8(number) + size_tail
        header += bytes((_crc(header, _CRC8, 8),))
        frame = header + b"\x02" + big_endian[2 * start : 2 * (start + block)]  # subframe: VERBATIM, no wasted bits
        frames.append(frame + struct.pack(">H", _crc(frame, _CRC16, 16)))
    sizes = [len(f) for f in frames]
    info = struct.pack(">HH", _FLAC_BLOCK, _FLAC_BLOCK) + min(sizes).to_bytes(3, "big") + max(sizes).to_bytes(3, "big")
    info += (SAMPLE_RATE << 44 | 0 << 41 | 15 << 36 | count).to_bytes(8, "big")
    info += hashlib.md5(pcm).digest()  # FLAC hashes the samples as signed little-endian
    if tag is None:
        return b"fLaC" + bytes((0x80, 0, 0, len(info))) + info + b"".join(frames)
    comments = audio_tags.vorbis_comments(tag)  # block type 4, and the last metadata block
    return (b"fLaC" + bytes((0x00, 0, 0, len(info))) + info + bytes((0x84,)) + len(comments).to_bytes(3, "big")
            + comments + b"".join(frames))


def _mp3(seed: bytes, seconds: float, tag: str | None = None) -> bytes:
    """Silent MPEG-1 Layer III, 48 kHz mono 32 kbit/s: 96-byte frames of 1152 samples whose
    side information is all zero, i.e. no coded spectrum at all. A leading "Info" frame
    (the LAME/Xing convention for constant bit rate) states the frame count, so tools
    read the exact length instead of guessing it from the file size."""
    header, side_info = b"\xff\xfb\x14\xc4", bytes(17)
    count = _frames(seconds, 1152, 48_000)
    info = (header + side_info + b"Info" + struct.pack(">II", 1, count)).ljust(96, b"\x00")
    return _id3(tag) + info + (header + side_info).ljust(96, b"\x00") * count


def _aac(seed: bytes, seconds: float, tag: str | None = None) -> bytes:
    """Silent AAC-LC in ADTS, 24 kHz mono: each 1024-sample frame is a 7-byte header and a
    4-byte raw block of one single-channel element with no scale-factor bands."""
    length = 7 + 4
    header = (0xFFF << 44 | 1 << 40 | 1 << 38 | 6 << 34 | 1 << 30 | length << 13 | 0x7FF << 2).to_bytes(7, "big")
    return _id3(tag) + (header + b"\x01\x40\x20\x07") * _frames(seconds, 1024, SAMPLE_RATE)


def _id3(tag: str | None) -> bytes:
    return b"" if tag is None else audio_tags.id3_tag(tag)


_OPUS_PRE_SKIP = 312
_OPUS_SILENCE = b"\xf8\xff\xfe"  # TOC: CELT fullband 20 ms mono, one frame; payload decodes to silence


def _ogg_page(serial: int, sequence: int, granule: int, packets: list[bytes], flags: int) -> bytes:
    lacing = b"".join(b"\xff" * (len(p) // 255) + bytes((len(p) % 255,)) for p in packets)
    page = struct.pack("<4sBBqIII", b"OggS", 0, flags, granule, serial, sequence, 0)
    page += bytes((len(lacing),)) + lacing + b"".join(packets)
    return page[:22] + struct.pack("<I", _crc(page, _CRC32, 32)) + page[26:]


def _opus(seed: bytes, seconds: float, tag: str | None = None) -> bytes:
    """Silent Ogg Opus: OpusHead, OpusTags, then 20 ms silence packets, 50 to a page.
    The last page's granule position trims the stream to ``seconds`` exactly."""
    serial = int.from_bytes(_seeded(seed, b"ogg", 4), "little")
    end = _OPUS_PRE_SKIP + _frames(seconds, 1, 48_000)
    packets = -(-end // 960)
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, _OPUS_PRE_SKIP, SAMPLE_RATE, 0, 0)
    vendor = b"mockserver"
    untagged = struct.pack("<I", len(vendor)) + vendor + bytes(4)
    comments = audio_tags.vorbis_comments(tag) if tag is not None else untagged
    tags = b"OpusTags" + comments
    pages = [_ogg_page(serial, 0, 0, [head], 0x02), _ogg_page(serial, 1, 0, [tags], 0)]
    for first in range(0, packets, 50):
        last = min(first + 50, packets)
        granule, flags = (end, 0x04) if last == packets else (last * 960, 0)
        pages.append(_ogg_page(serial, len(pages), granule, [_OPUS_SILENCE] * (last - first), flags))
    return b"".join(pages)


_AUDIO: dict[str, tuple[Callable[[bytes, float, str | None], bytes], str]] = {
    "wav": (_wav, "audio/wav"),
    "pcm16": (_pcm16, "audio/pcm"),
    "pcm": (_pcm16, "audio/pcm"),  # the /audio/speech spelling of pcm16
    "flac": (_flac, "audio/flac"),
    "mp3": (_mp3, "audio/mpeg"),
    "opus": (_opus, "audio/ogg"),
    "aac": (_aac, "audio/aac"),
}


def _audio_format(fmt: str) -> tuple[Callable[[bytes, float, str | None], bytes], str]:
    try:
        return _AUDIO[fmt]
    except (KeyError, TypeError):
        raise ValueError(f"unsupported audio format {fmt!r}; expected one of {', '.join(_AUDIO)}") from None


def audio_clip(seed: bytes, fmt: str, seconds: float, transcript: str | None = None) -> bytes:
    """A ``seconds``-long clip in ``fmt`` (wav, pcm16/pcm, flac, mp3, opus or aac).

    A ``transcript`` is written into the container's comment field (:mod:`.audio_tags`), so a
    transcription of the clip returns it; raw PCM has no such field.

    wav, pcm16 and flac carry a seeded tone at 24 kHz mono 16-bit; mp3, opus and aac
    are digital silence in valid frames, since a real encoder is out of reach without
    dependencies. Lengths match ``seconds`` to the sample for the PCM formats and the
    Opus stream, and to the nearest frame (24 ms mp3, ~43 ms aac) otherwise.
    """
    encode, _ = _audio_format(fmt)
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"audio length must be a positive number of seconds, got {seconds!r}")
    tag = None if transcript is None else audio_tags.tag_value(transcript, seconds)
    return encode(seed, seconds, tag)


def audio_mime(fmt: str) -> str:
    """The Content-Type for a clip in ``fmt``."""
    return _audio_format(fmt)[1]


def audio_mimes() -> list[str]:
    """Every Content-Type a clip can have."""
    return sorted({mime for _, mime in _AUDIO.values()})
