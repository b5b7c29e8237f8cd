"""Synthetic images and audio are real files: decoders accept them, at the asked size and length.

Pillow and mutagen (test-only) stand in for the clients that decode what the mock
returns; the structural checks below re-derive CRCs bit by bit, independently of
the table-driven code under test. soundfile and ffprobe, when present, decode the
audio too.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import shutil
import struct
import subprocess
import time
import wave
import zlib

import pytest

from mockserver.generation.media import (
    MAX_SIDE,
    SAMPLE_RATE,
    PngInfo,
    audio_clip,
    audio_mime,
    jpeg_image,
    parse_size,
    png_image,
    read_png_info,
    webp_image,
)

SIZES = [(1024, 1024), (1536, 1024), (1024, 1536), (1792, 1024), (256, 256), (1, 1), (13, 7)]
AUDIO_FORMATS = ["wav", "pcm16", "flac", "mp3", "opus", "aac"]


def _image_module():
    return pytest.importorskip("PIL.Image")


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    pos, chunks = 8, []
    while pos < len(png):
        (length,) = struct.unpack_from(">I", png, pos)
        chunks.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


# --- images --------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize("transparent", [False, True])
def test_png_structure(width: int, height: int, transparent: bool) -> None:
    png = png_image(b"seed", width, height, transparent=transparent)
    channels = 4 if transparent else 3
    assert read_png_info(png) == PngInfo(width, height, 6 if transparent else 2, 8, transparent)
    kinds = [kind for kind, _ in _chunks(png)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    raw = zlib.decompress(b"".join(body for kind, body in _chunks(png) if kind == b"IDAT"))
    assert len(raw) == height * (1 + width * channels)
    assert raw[:: 1 + width * channels] == bytes(height)  # every row uses filter 0


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_png_decodes_at_requested_size(width: int, height: int) -> None:
    image_module = _image_module()
    image = image_module.open(io.BytesIO(png_image(b"seed", width, height)))
    image.load()
    assert (image.format, image.mode, image.size) == ("PNG", "RGB", (width, height))


def test_png_picture_is_smooth_not_noise() -> None:
    image_module = _image_module()
    image = image_module.open(io.BytesIO(png_image(b"landscape", 512, 512)))
    colours = image.getcolors(maxcolors=512 * 512)
    assert colours is not None and len(colours) < 2000
    assert len(png_image(b"landscape", 1024, 1024)) < 200_000  # compresses well


def test_transparent_png_has_a_clear_sky_and_opaque_shapes() -> None:
    image_module = _image_module()
    image = image_module.open(io.BytesIO(png_image(b"seed", 640, 480, transparent=True)))
    assert image.mode == "RGBA"
    assert image.getchannel("A").getextrema() == (0, 255)
    assert image.getpixel((0, 0))[3] == 0 or image.getpixel((639, 0))[3] == 0


def test_png_is_a_pure_function_of_the_seed() -> None:
    first = png_image(b"alpha", 300, 200)
    assert png_image(b"alpha", 300, 200) == first
    others = {png_image(seed, 300, 200) for seed in (b"beta", b"gamma", b"delta", b"")}
    assert first not in others and len(others) == 4
    assert png_image(b"alpha", 300, 200, transparent=True) != first


def test_pixels_and_samples_are_pinned_across_releases() -> None:
    """Golden digests of decoded content (compressed bytes may differ between zlib builds):
    a change here alters every user's snapshots, so make it on purpose."""

    def pixels(png: bytes) -> str:
        raw = zlib.decompress(b"".join(body for kind, body in _chunks(png) if kind == b"IDAT"))
        return hashlib.sha256(raw).hexdigest()[:16]

    assert pixels(png_image(b"pinned", 96, 64)) == "6bbd3d044b1d7400"
    assert pixels(png_image(b"pinned", 96, 64, transparent=True)) == "016805f09175e437"
    assert hashlib.sha256(audio_clip(b"pinned", "pcm16", 0.5)).hexdigest()[:16] == "9159550151a0e12c"


def test_png_is_fast_enough_for_a_request() -> None:
    png_image(b"warm", 64, 64)
    best = min(_elapsed(lambda: png_image(b"speed", 1536, 1024)) for _ in range(3))
    assert best < 0.5, f"1536x1024 PNG took {best:.3f}s; rows must be built with bytes operations"


def _elapsed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_jpeg_decodes_to_the_same_scene(width: int, height: int) -> None:
    image_module = _image_module()
    data = jpeg_image(b"seed", width, height)
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    jpeg = image_module.open(io.BytesIO(data))
    jpeg.load()
    assert (jpeg.format, jpeg.mode, jpeg.size) == ("JPEG", "RGB", (width, height))
    png = image_module.open(io.BytesIO(png_image(b"seed", width, height))).convert("RGB")
    for y in range(0, height, max(8, height // 64 * 8)):
        for x in range(0, width, max(8, width // 64 * 8)):
            # Each 8x8 block is flat, coloured like the PNG pixel at its centre.
            expected = png.getpixel((min(x + 4, width - 1), min(y + 4, height - 1)))
            assert max(abs(a - b) for a, b in zip(jpeg.getpixel((x, y)), expected, strict=False)) <= 2


def test_jpeg_is_deterministic() -> None:
    assert jpeg_image(b"a", 200, 120) == jpeg_image(b"a", 200, 120) != jpeg_image(b"b", 200, 120)


@pytest.mark.parametrize(("width", "height"), [(1024, 1024), (1536, 1024), (1, 1), (13, 7)])
@pytest.mark.parametrize("transparent", [False, True])
def test_webp_is_the_png_picture_losslessly(width: int, height: int, transparent: bool) -> None:
    image_module = _image_module()
    features = pytest.importorskip("PIL.features")
    if not features.check("webp"):
        pytest.skip("this Pillow has no WebP support")
    data = webp_image(b"seed", width, height, transparent=transparent)
    assert data[:4] == b"RIFF" and data[8:16] == b"WEBPVP8L"
    assert struct.unpack_from("<I", data, 4)[0] == len(data) - 8
    webp = image_module.open(io.BytesIO(data))
    webp.load()
    png = image_module.open(io.BytesIO(png_image(b"seed", width, height, transparent=transparent)))
    assert (webp.format, webp.size, webp.mode) == ("WEBP", (width, height), png.mode)
    assert webp.tobytes() == png.tobytes()


def test_webp_is_deterministic() -> None:
    assert webp_image(b"a", 64, 48) == webp_image(b"a", 64, 48) != webp_image(b"b", 64, 48)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1024x1024", (1024, 1024)), ("1536x1024", (1536, 1024)), ("1024x1792", (1024, 1792)), ("256x256", (256, 256))],
)
def test_parse_size(text: str, expected: tuple[int, int]) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    "text",
    ["auto", "1024", "1024x", "x1024", "1024X1024", " 1024x1024", "1024x1024 ", "0x1024", "1024x-1",
     f"{MAX_SIDE + 1}x1024", "10.5x10", "١٠٢٤x١٠٢٤", "", None, 1024],
)
def test_parse_size_rejects_junk(text: object) -> None:
    with pytest.raises(ValueError, match=r"size|width|height"):
        parse_size(text)  # type: ignore[arg-type]


@pytest.mark.parametrize("builder", [png_image, jpeg_image, webp_image])
@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, 0), (MAX_SIDE + 1, 10), (10.0, 10)])
def test_image_builders_reject_impossible_sizes(builder, width, height) -> None:
    with pytest.raises(ValueError):
        builder(b"seed", width, height)


def test_read_png_info_reports_alpha_for_every_kind_of_transparency() -> None:
    image_module = _image_module()

    def encode(image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    assert read_png_info(encode(image_module.new("RGB", (5, 3)))) == PngInfo(5, 3, 2, 8, False)
    assert read_png_info(encode(image_module.new("RGBA", (5, 3)))).has_alpha
    assert read_png_info(encode(image_module.new("LA", (5, 3)))) == PngInfo(5, 3, 4, 8, True)
    palette = image_module.new("P", (4, 4))
    palette.info["transparency"] = 0
    assert read_png_info(encode(palette)).has_alpha  # tRNS chunk
    assert not read_png_info(encode(image_module.new("P", (4, 4)))).has_alpha
    assert read_png_info(encode(image_module.new("1", (9, 2)))) == PngInfo(9, 2, 0, 1, False)


def _with_bad_ihdr_crc(png: bytes) -> bytes:
    return png[:29] + bytes((png[29] ^ 0xFF,)) + png[30:]


def _with_bad_ihdr_depth(png: bytes) -> bytes:
    body = png[16:24] + b"\x07" + png[25:29]  # bit depth 7, recomputed CRC
    return png[:16] + body + struct.pack(">I", zlib.crc32(b"IHDR" + body)) + png[33:]


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda png: b"", "signature"),
        (lambda png: b"GIF89a" + png[6:], "signature"),
        (lambda png: png[:8], "truncated"),
        (lambda png: png[:20], "truncated"),
        (lambda png: png[:-12], "truncated"),  # no IEND
        (lambda png: png[:60], "truncated"),
        (_with_bad_ihdr_crc, "CRC"),
        (lambda png: png[:-20] + bytes((png[-20] ^ 1,)) + png[-19:], "CRC"),  # last IDAT byte
        (_with_bad_ihdr_depth, "IHDR"),
        (lambda png: png[:8] + png[33:], "IHDR"),  # first chunk is not IHDR
    ],
)
def test_read_png_info_refuses_broken_files(mangle, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_png_info(mangle(png_image(b"seed", 32, 16)))


def test_read_png_info_needs_pixel_data() -> None:
    png = png_image(b"seed", 4, 4)
    without_idat = png[:33] + png[-12:]
    with pytest.raises(ValueError, match="IDAT"):
        read_png_info(without_idat)


# --- audio ---------------------------------------------------------------------------

DURATIONS = [0.5, 2.0, 7.3]


def _crc_bitwise(data: bytes, poly: int, width: int) -> int:
    """Textbook MSB-first CRC, bit by bit: independent of the table code under test."""
    crc, top, mask = 0, 1 << (width - 1), (1 << width) - 1
    for byte in data:
        crc ^= byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
    return crc


@pytest.mark.parametrize("seconds", DURATIONS)
def test_wav_reads_with_the_wave_module(seconds: float) -> None:
    with wave.open(io.BytesIO(audio_clip(b"voice", "wav", seconds))) as clip:
        assert (clip.getnchannels(), clip.getsampwidth(), clip.getframerate()) == (1, 2, SAMPLE_RATE)
        assert clip.getnframes() == round(seconds * SAMPLE_RATE)
        assert clip.readframes(clip.getnframes()) == audio_clip(b"voice", "pcm16", seconds)


def test_pcm16_is_a_soft_tone_that_fades_in_and_out() -> None:
    pcm = audio_clip(b"voice", "pcm16", 1.0)
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    assert len(samples) == SAMPLE_RATE
    assert samples[0] == 0 and abs(samples[-1]) < 50
    assert 3000 < max(map(abs, samples)) < 12_000  # audible but far from clipping
    zero_crossings = sum(1 for a, b in itertools.pairwise(samples) if a < 0 <= b)
    assert 150 < zero_crossings < 700  # a pitched tone, not noise


def test_flac_frames_are_valid_and_hold_the_pcm_samples() -> None:
    seconds = 31.0  # more than 127 frames: frame numbers take two UTF-8 bytes
    flac = audio_clip(b"voice", "flac", seconds)
    pcm = audio_clip(b"voice", "pcm16", seconds)
    assert flac[:4] == b"fLaC" and flac[4] == 0x80 and flac[5:8] == b"\x00\x00\x22"
    info = flac[8:42]
    rate_channels_bits_total = int.from_bytes(info[10:18], "big")
    assert rate_channels_bits_total >> 44 == SAMPLE_RATE
    assert (rate_channels_bits_total >> 41) & 7 == 0 and (rate_channels_bits_total >> 36) & 31 == 15
    assert rate_channels_bits_total & (1 << 36) - 1 == len(pcm) // 2
    assert info[18:] == hashlib.md5(pcm).digest()
    pos, number, decoded = 42, 0, bytearray()
    while pos < len(flac):
        assert flac[pos : pos + 2] == b"\xff\xf8"
        size_code = flac[pos + 2] >> 4
        utf8_length = 1 if number < 0x80 else 2
        assert flac[pos + 4 : pos + 4 + utf8_length] == chr(number).encode()  # 36-bit UTF-8 agrees below 2**11
        header_end = pos + 4 + utf8_length + (2 if size_code == 7 else 0)
        block = 4096 if size_code == 12 else struct.unpack_from(">H", flac, header_end - 2)[0] + 1
        assert flac[header_end] == _crc_bitwise(flac[pos:header_end], 0x07, 8)
        assert flac[header_end + 1] == 0x02  # VERBATIM subframe
        samples = flac[header_end + 2 : header_end + 2 + 2 * block]
        end = header_end + 2 + 2 * block
        if number % 20 == 0 or end + 2 == len(flac):  # the bitwise CRC is slow: spot-check the long frames
            assert struct.unpack_from(">H", flac, end)[0] == _crc_bitwise(flac[pos:end], 0x8005, 16)
        decoded += struct.pack(f"<{block}h", *struct.unpack(f">{block}h", samples))
        pos, number = end + 2, number + 1
    assert number > 127 and bytes(decoded) == pcm


def test_ogg_pages_have_valid_crcs_and_opus_headers() -> None:
    ogg = audio_clip(b"voice", "opus", 2.5)
    pos, pages = 0, []
    while pos < len(ogg):
        assert ogg[pos : pos + 4] == b"OggS"
        segments = ogg[pos + 26]
        size = 27 + segments + sum(ogg[pos + 27 : pos + 27 + segments])
        page = ogg[pos : pos + size]
        assert struct.unpack_from("<I", page, 22)[0] == _crc_bitwise(page[:22] + bytes(4) + page[26:], 0x04C11DB7, 32)
        pages.append(page)
        pos += size
    flags = [page[5] for page in pages]
    assert flags[0] == 0x02 and flags[-1] == 0x04 and set(flags[1:-1]) <= {0}
    assert [struct.unpack_from("<I", page, 18)[0] for page in pages] == list(range(len(pages)))
    assert pages[0][28:36] == b"OpusHead" and pages[1][28:36] == b"OpusTags"
    pre_skip = struct.unpack_from("<H", pages[0], 28 + 10)[0]
    assert struct.unpack_from("<q", pages[-1], 6)[0] - pre_skip == round(2.5 * 48_000)


def test_mp3_is_constant_bit_rate_frames_behind_an_info_frame() -> None:
    mp3 = audio_clip(b"voice", "mp3", 3.0)
    assert len(mp3) % 96 == 0
    frames = [mp3[i : i + 96] for i in range(0, len(mp3), 96)]
    assert all(frame[:4] == b"\xff\xfb\x14\xc4" for frame in frames)
    assert frames[0][21:25] == b"Info" and struct.unpack_from(">I", frames[0], 29)[0] == len(frames) - 1
    assert len(frames) - 1 == round(3.0 * 48_000 / 1152)


def test_aac_is_adts_frames_of_the_right_count() -> None:
    aac = audio_clip(b"voice", "aac", 3.0)
    header = aac[:7]
    length = (int.from_bytes(header[3:6], "big") >> 5) & 0x1FFF
    assert header[:2] == b"\xff\xf1" and (header[2] >> 2) & 0xF == 6 and len(aac) % length == 0
    assert len(aac) // length == round(3.0 * SAMPLE_RATE / 1024)


MUTAGEN_KINDS = {
    "mp3": "mutagen.mp3.MP3", "flac": "mutagen.flac.FLAC", "opus": "mutagen.oggopus.OggOpus", "aac": "mutagen.aac.AAC",
}


@pytest.mark.parametrize("fmt", list(MUTAGEN_KINDS))
@pytest.mark.parametrize("seconds", DURATIONS)
def test_mutagen_reads_the_expected_duration(fmt: str, seconds: float) -> None:
    pytest.importorskip("mutagen")
    module_name, _, class_name = MUTAGEN_KINDS[fmt].rpartition(".")
    kind = getattr(__import__(module_name, fromlist=[class_name]), class_name)
    parsed = kind(io.BytesIO(audio_clip(b"voice", fmt, seconds)))
    assert parsed.info.length == pytest.approx(seconds, abs=0.1)
    assert parsed.info.channels == 1


@pytest.mark.parametrize("fmt", ["wav", "flac", "opus", "mp3"])
def test_soundfile_decodes_when_installed(fmt: str) -> None:
    soundfile = pytest.importorskip("soundfile")  # in the test extras
    if fmt == "mp3" and tuple(map(int, soundfile.__libsndfile_version__.split(".")[:2])) < (1, 1):
        pytest.skip("this libsndfile has no MP3 decoder")
    data, rate = soundfile.read(io.BytesIO(audio_clip(b"voice", fmt, 2.0)), dtype="int16")
    assert len(data) / rate == pytest.approx(2.0, abs=0.1)
    if fmt in ("wav", "flac"):
        assert data.tobytes() == audio_clip(b"voice", "pcm16", 2.0)
    else:
        assert not data.any()  # digital silence


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "opus", "aac"])
def test_ffprobe_agrees_when_installed(fmt: str, tmp_path) -> None:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        assert not os.environ.get("CI"), ".ci/run installs ffmpeg (Debian): ffprobe must be there in CI"
        pytest.skip("ffprobe is not installed (apt-get install ffmpeg)")
    path = tmp_path / f"clip.{'ogg' if fmt == 'opus' else fmt}"
    path.write_bytes(audio_clip(b"voice", fmt, 2.0))
    out = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True, timeout=30,
    )
    assert float(out.stdout) == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_audio_is_a_pure_function_of_its_inputs(fmt: str) -> None:
    assert audio_clip(b"voice", fmt, 1.5) == audio_clip(b"voice", fmt, 1.5)
    assert audio_clip(b"voice", fmt, 1.5) != audio_clip(b"voice", fmt, 2.5)


def test_tone_depends_on_the_seed() -> None:
    clips = {audio_clip(seed, "pcm16", 1.0) for seed in (b"a", b"b", b"c", b"d", b"e", b"f")}
    assert len(clips) > 1


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_tiny_clips_still_hold_one_frame(fmt: str) -> None:
    assert len(audio_clip(b"voice", fmt, 0.001)) > 0


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("wav", "audio/wav"), ("pcm16", "audio/pcm"), ("pcm", "audio/pcm"), ("flac", "audio/flac"),
     ("mp3", "audio/mpeg"), ("opus", "audio/ogg"), ("aac", "audio/aac")],
)
def test_audio_mime(fmt: str, mime: str) -> None:
    assert audio_mime(fmt) == mime


def test_pcm_is_the_speech_endpoint_spelling_of_pcm16() -> None:
    assert audio_clip(b"voice", "pcm", 0.5) == audio_clip(b"voice", "pcm16", 0.5)


@pytest.mark.parametrize("fmt", ["ogg", "MP3", "", None, "pcm24"])
def test_unknown_audio_formats_are_refused(fmt: object) -> None:
    with pytest.raises(ValueError, match="unsupported audio format"):
        audio_clip(b"voice", fmt, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported audio format"):
        audio_mime(fmt)  # type: ignore[arg-type]


@pytest.mark.parametrize("seconds", [0, -1.0, float("nan"), float("inf"), "2"])
def test_impossible_lengths_are_refused(seconds: object) -> None:
    with pytest.raises(ValueError, match="seconds"):
        audio_clip(b"voice", "wav", seconds)  # type: ignore[arg-type]
