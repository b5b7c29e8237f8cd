"""Images: /images/generations, /images/edits, /images/variations and the served image files.

Every picture must be a real file of the format the response claims, drawn the same
for the same prompt, and every body must be a valid official ``ImagesResponse``.
"""

from __future__ import annotations

import base64

import httpx2
import openai
import pytest

from mockserver import MockServer
from mockserver.conformance import validate_official
from mockserver.generation import media

from helpers import sdk_client


def _png(data: bytes) -> media.PngInfo:
    return media.read_png_info(data)


def _b64(response: openai.types.ImagesResponse, index: int = 0) -> bytes:
    return base64.b64decode(response.data[index].b64_json)


def test_gpt_image_b64_png_with_official_fields(client: openai.OpenAI, http: httpx2.Client) -> None:
    body = {"model": "gpt-image-1", "prompt": "A lighthouse at dusk", "size": "1536x1024", "n": 2}
    raw = http.post("/v1/images/generations", json=body)
    assert raw.status_code == 200
    document = raw.json()
    validate_official("ImagesResponse", document)
    assert document["size"] == "1536x1024" and document["quality"] == "high"
    assert document["background"] == "opaque" and document["output_format"] == "png"
    usage = document["usage"]
    assert usage["output_tokens"] == 2 * 6208
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens_details"] == {"text_tokens": usage["input_tokens"], "image_tokens": 0}
    first, second = (base64.b64decode(item["b64_json"]) for item in document["data"])
    assert _png(first)[:3] == (1536, 1024, 2)
    assert first != second, "each index draws its own picture"
    again = client.images.generate(**body)
    assert _b64(again) == first and _b64(again, 1) == second, "same prompt, same seed: same pictures"
    other = client.images.generate(model="gpt-image-1", prompt="A different prompt", size="1536x1024")
    assert _b64(other) != first


def test_quality_and_size_drive_usage(client: openai.OpenAI) -> None:
    low = client.images.generate(model="gpt-image-1", prompt="tree", quality="low", size="1024x1536")
    assert low.quality == "low" and low.size == "1024x1536" and low.usage.output_tokens == 408
    assert _png(_b64(low))[:2] == (1024, 1536)


def test_transparent_background_is_rgba(client: openai.OpenAI) -> None:
    response = client.images.generate(model="gpt-image-1", prompt="a sticker", background="transparent")
    info = _png(_b64(response))
    assert response.background == "transparent" and info.color_type == 6 and info.has_alpha


@pytest.mark.parametrize(
    "fmt, magic",
    [("jpeg", lambda data: data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9"),
     ("webp", lambda data: data[:4] == b"RIFF" and data[8:16] == b"WEBPVP8L")],
)
def test_output_formats_are_real_files(client: openai.OpenAI, fmt: str, magic) -> None:
    response = client.images.generate(
        model="gpt-image-1", prompt="a bowl of fruit", output_format=fmt, output_compression=80, size="1024x1024"
    )
    assert response.output_format == fmt
    assert magic(_b64(response))


def test_dall_e_url_served_by_the_mock(client: openai.OpenAI, server: MockServer) -> None:
    response = client.images.generate(model="dall-e-2", prompt="a red fox", size="256x256", n=2)
    validate_official("ImagesResponse", response.model_dump(exclude_none=True))
    assert response.usage is None and response.size is None
    url = response.data[0].url
    assert url.startswith(server.origin + "/_mock/files/images/") and url.endswith(".png")
    fetched = httpx2.get(url)  # no key: like a provider's signed link
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
    assert _png(fetched.content)[:2] == (256, 256)
    as_b64 = client.images.generate(model="dall-e-2", prompt="a red fox", size="256x256", response_format="b64_json")
    assert _b64(as_b64) == fetched.content, "the URL and b64_json carry the same picture"
    assert httpx2.get(response.data[1].url).content != fetched.content


def test_tampered_file_url_is_404(client: openai.OpenAI) -> None:
    url = client.images.generate(model="dall-e-2", prompt="x", size="256x256").data[0].url
    token = url.rsplit("/", 1)[1]
    broken = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    for name in (broken, token.replace(".png", ".jpeg"), "nonsense.png"):
        response = httpx2.get(url.rsplit("/", 1)[0] + "/" + name)
        assert response.status_code == 404 and response.json()["error"]["code"] == "file_not_found"


def test_dall_e_3_revises_the_prompt(client: openai.OpenAI) -> None:
    response = client.images.generate(model="dall-e-3", prompt="a castle", size="1792x1024", response_format="b64_json")
    assert response.data[0].revised_prompt.startswith("a castle")
    assert _png(_b64(response))[:2] == (1792, 1024)


@pytest.mark.parametrize(
    "arguments, param",
    [
        ({"model": "dall-e-3", "n": 2}, "n"),
        ({"model": "dall-e-2", "size": "1536x1024"}, "size"),
        ({"model": "gpt-image-1", "size": "256x256"}, "size"),
        ({"model": "gpt-image-1", "response_format": "url"}, "response_format"),
        ({"model": "dall-e-2", "background": "transparent"}, "background"),
        ({"model": "gpt-image-1", "quality": "hd"}, "quality"),
        ({"model": "gpt-image-1", "background": "transparent", "output_format": "jpeg"}, "background"),
        ({"model": "gpt-image-1", "output_compression": 50}, "output_compression"),
        ({"model": "dall-e-2", "prompt": "x" * 1001}, "prompt"),
        ({"model": "gpt-4o"}, "model"),
        ({"size": "1000x1000"}, "size"),
        ({"n": 11}, "n"),
    ],
)
def test_per_model_rules_name_the_field(client: openai.OpenAI, arguments: dict, param: str) -> None:
    arguments = {"prompt": "a cat", **arguments}
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.generate(**arguments)
    assert raised.value.param == param, raised.value.message


def test_unknown_argument_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.generate(prompt="a cat", extra_body={"colour": "red"})
    assert "colour" in raised.value.message


def test_stream_events_conform(client: openai.OpenAI) -> None:
    events = list(client.images.generate(model="gpt-image-1", prompt="a kite", stream=True, partial_images=2))
    assert [event.type for event in events] == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    for event in events:
        validate_official("ImageGenStreamEvent", event.model_dump(exclude_none=True))
    assert [event.partial_image_index for event in events[:2]] == [0, 1]
    final = events[-1]
    assert _png(base64.b64decode(final.b64_json))[:2] == (1024, 1024) and final.usage.output_tokens == 4160


def _upload(seed: bytes, width: int, height: int, *, transparent: bool = False) -> bytes:
    return media.png_image(seed, width, height, transparent=transparent)


def test_edit_with_mask(client: openai.OpenAI, http: httpx2.Client) -> None:
    image, mask = _upload(b"photo", 512, 768), _upload(b"mask", 512, 768, transparent=True)
    response = client.images.edit(image=("photo.png", image, "image/png"), mask=("mask.png", mask, "image/png"),
                                  prompt="add a hat", model="gpt-image-1")
    validate_official("ImagesResponse", response.model_dump(exclude_none=True))
    assert response.size == "1024x1536", "size auto follows the input's portrait shape"
    assert _png(_b64(response))[:2] == (1024, 1536)
    assert response.usage.input_tokens_details.image_tokens > 0
    again = client.images.edit(image=("photo.png", image, "image/png"), mask=("mask.png", mask, "image/png"),
                               prompt="add a hat", model="gpt-image-1")
    assert _b64(again) == _b64(response)
    several = client.images.edit(image=[("a.png", image, "image/png"), ("b.png", mask, "image/png")], prompt="merge")
    assert len(several.data) == 1
    raw = http.post("/v1/images/edits", files={"image": ("a.png", image, "image/png")},
                    data={"prompt": "blue sky", "model": "dall-e-2", "response_format": "url", "size": "256x256"})
    assert raw.status_code == 400 and raw.json()["error"]["param"] == "image", "dall-e-2 wants a square image"


@pytest.mark.parametrize(
    "image, mask, param, words",
    [
        (b"GIF89a not a png", None, "image", "unsupported image format"),
        (_upload(b"i", 64, 64)[:-20], None, "image", "truncated"),
        (_upload(b"i", 64, 64), _upload(b"m", 64, 64), "mask", "alpha"),
        (_upload(b"i", 64, 64), _upload(b"m", 32, 32, transparent=True), "mask", "same dimensions"),
    ],
)
def test_edit_upload_checks_name_the_field(client: openai.OpenAI, image: bytes, mask: bytes | None,
                                           param: str, words: str) -> None:
    files = {"mask": ("mask.png", mask, "image/png")} if mask is not None else {}
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.edit(image=("image.png", image, "image/png"), prompt="edit", **files)
    assert raised.value.param == param and words in raised.value.message


def test_edit_form_fields_are_typed_and_validated(http: httpx2.Client) -> None:
    image = ("image.png", _upload(b"i", 64, 64), "image/png")
    cases = [({"prompt": "x", "n": "0"}, "n"), ({"prompt": "x", "n": "two"}, "n"), ({"n": "1"}, "prompt"),
             ({"prompt": "x", "quality": "ultra"}, "quality"), ({"prompt": "x", "stream": "maybe"}, "stream")]
    for data, param in cases:
        response = http.post("/v1/images/edits", files={"image": image}, data=data)
        assert response.status_code == 400 and response.json()["error"]["param"] == param, response.text
    missing = http.post("/v1/images/edits", files={"mask": image}, data={"prompt": "x"})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "image"
    as_json = http.post("/v1/images/edits", json={"prompt": "x"})
    assert as_json.status_code == 415


def test_edit_stream_events_conform(client: openai.OpenAI) -> None:
    image = ("image.png", _upload(b"i", 64, 64), "image/png")
    events = list(client.images.edit(image=image, prompt="edit", model="gpt-image-1", stream=True, partial_images=1))
    assert [event.type for event in events] == ["image_edit.partial_image", "image_edit.completed"]
    for event in events:
        validate_official("ImageEditStreamEvent", event.model_dump(exclude_none=True))


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK marks variations deprecated
def test_variations(client: openai.OpenAI) -> None:
    image = ("square.png", _upload(b"v", 128, 128), "image/png")
    response = client.images.create_variation(image=image, n=3, size="512x512", response_format="b64_json")
    validate_official("ImagesResponse", response.model_dump(exclude_none=True))
    pictures = [_b64(response, index) for index in range(3)]
    assert all(_png(picture)[:2] == (512, 512) for picture in pictures) and len(set(pictures)) == 3
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.create_variation(image=("wide.png", _upload(b"w", 128, 64), "image/png"))
    assert raised.value.param == "image" and "square" in raised.value.message
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.create_variation(image=image, model="gpt-image-1")
    assert raised.value.param == "model"


def test_edits_and_variations_are_openai_only(server: MockServer) -> None:
    serika = sdk_client(server.url_for("serika"))
    with pytest.raises(openai.NotFoundError):
        serika.images.edit(image=("i.png", _upload(b"i", 64, 64), "image/png"), prompt="x")
    assert serika.images.generate(prompt="a cat", size="256x256", response_format="b64_json").data


def test_schema_mode_skips_model_rules() -> None:
    with MockServer(validation="schema") as server:
        client = sdk_client(server.url)
        response = client.images.generate(model="dall-e-3", prompt="x", n=2, size="256x256", quality="low")
        assert len(response.data) == 2
        with pytest.raises(openai.BadRequestError):
            client.images.generate(prompt="x", size="1000x1000")
        edited = client.images.edit(image=b"Example data", prompt="x", extra_body={"newer_sdk_field": "1"})
        assert media.read_png_info(_b64(edited))[:2] == (1024, 1024), "uploads are only checked in strict mode"
        portrait = client.images.edit(image=("p.png", _upload(b"p", 64, 128), "image/png"), prompt="x")
        assert portrait.size == "1024x1536"
