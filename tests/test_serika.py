"""Serika's other endpoints: async image jobs, legacy generation, characters and tiers."""

from __future__ import annotations

import base64

import httpx2
import openai
import pytest

from mockserver import Config, MockServer
from mockserver.cli import build_parser
from mockserver.config import ConfigError
from mockserver.conformance import validate_official
from mockserver.generation import media

FREE, PREMIUM, OTHER = "sk-free-key-0001", "sk-premium-key-0001", "sk-anyone-else-0001"


@pytest.fixture(scope="module")
def serika() -> MockServer:
    with MockServer(free_key=[FREE], premium_key=[PREMIUM], job_schedule="10,20") as running:
        yield running


def _http(server: MockServer, key: str = PREMIUM) -> httpx2.Client:
    return httpx2.Client(base_url=server.url_for("serika"), headers={"Authorization": f"Bearer {key}"}, timeout=10)


def test_job_moves_queued_processing_completed(serika: MockServer) -> None:
    with _http(serika) as http:
        created = http.post("/jobs/image", json={"prompt": "a moonlit harbour", "n": 2, "size": "256x256"}).json()
        assert created["object"] == "job" and created["status"] == "queued" and created["id"].startswith("job_")
        assert created["result"] is None and isinstance(created["created_at"], int)
        seen = []
        for step in (9.9, 0.1, 9.9, 0.1, 480.0):  # to 9.9 s after creation, 10, 19.9, 20, 500
            serika.advance(step)
            job = http.get(f"/jobs/{created['id']}").json()
            seen.append(job["status"])
        assert seen == ["queued", "processing", "processing", "completed", "completed"]
        assert job["started_at"] == created["created_at"] + 10 and job["completed_at"] == created["created_at"] + 20
        result = job["result"]
        validate_official("ImagesResponse", result)
        assert len(result["data"]) == 2
        picture = httpx2.get(result["data"][0]["url"]).content
        assert media.read_png_info(picture)[:2] == (256, 256)
        direct = http.post("/images/generations", json={"prompt": "a moonlit harbour", "size": "256x256",
                                                        "response_format": "b64_json"}).json()
        assert base64.b64decode(direct["data"][0]["b64_json"]) == picture, "a job draws what /images/generations draws"


def test_job_errors(serika: MockServer) -> None:
    with _http(serika) as http:
        missing = http.get("/jobs/job_doesnotexist")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "job_not_found"
        bad = http.post("/jobs/image", json={"prompt": "x", "size": "1536x1024"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "size", "checked at submission"
        assert http.post("/jobs/image", json={"size": "256x256"}).json()["error"]["param"] == "prompt"


def test_zero_schedule_completes_at_once() -> None:
    with MockServer(job_schedule="0,0") as server, _http(server) as http:
        job = http.post("/jobs/image", json={"prompt": "x", "size": "256x256", "response_format": "b64_json"}).json()
        done = http.get(f"/jobs/{job['id']}").json()
        assert done["status"] == "completed" and done["result"]["data"][0]["b64_json"]


def test_job_schedule_setting() -> None:
    assert Config(job_schedule="0.5,3").job_steps == (0.5, 3.0)
    for bad in ("3,1", "1", "a,b", "-1,2"):
        with pytest.raises(ConfigError):
            Config.from_mapping({"job_schedule": bad})
    args = build_parser().parse_args(["serve", "--job-schedule", "2,5"])
    assert args.job_schedule == "2,5"


def test_legacy_generate_text_speaks_as_character(serika: MockServer) -> None:
    with _http(serika) as http:
        body = {"prompt": "Tell me about Orion.", "model": "openai/gpt-4o-mini", "max_tokens": 200,
                "character_id": "12345"}
        reply = http.post("/generate/text", json=body).json()
        assert reply["object"] == "text_generation" and reply["model"] == "openai/gpt-4o-mini"
        assert reply["text"].startswith(("*Aria glances up", "*Aria grins*"))
        usage = reply["usage"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
        assert http.post("/generate/text", json=body).json()["text"] == reply["text"]
        chat = openai.OpenAI(base_url=serika.url_for("serika"), api_key=PREMIUM, max_retries=0)
        same = chat.chat.completions.create(
            model="openai/gpt-4o-mini", max_tokens=200, extra_body={"character_id": "12345"},
            messages=[{"role": "user", "content": "Tell me about Orion."}],
        )
        assert same.choices[0].message.content == reply["text"], "the legacy route is the chat generator"
        chat_body = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        messages = http.post("/generate/text", json=chat_body)
        assert messages.status_code == 200 and messages.json()["text"]


@pytest.mark.parametrize(
    "body, status, param",
    [
        ({"model": "openai/gpt-4o"}, 400, "prompt"),
        ({"prompt": 3, "model": "openai/gpt-4o"}, 400, "prompt"),
        ({"prompt": "hi"}, 400, "model"),
        ({"prompt": "hi", "model": "openai/gpt-4o", "temperature": 9}, 400, "temperature"),
        ({"prompt": "hi", "model": "openai/gpt-4o", "stream": True}, 400, "stream"),
        ({"prompt": "hi", "model": "no/such-model"}, 404, "model"),
        ({"prompt": "hi", "model": "openai/gpt-4o", "character_id": "nobody"}, 404, "character_id"),
    ],
)
def test_legacy_generate_text_errors(serika: MockServer, body: dict, status: int, param: str) -> None:
    with _http(serika) as http:
        response = http.post("/generate/text", json=body)
        assert response.status_code == status and response.json()["error"]["param"] == param, response.text


def test_legacy_generate_image(serika: MockServer) -> None:
    with _http(serika) as http:
        body = {"prompt": "a tea house", "size": "512x512", "response_format": "b64_json"}
        response = http.post("/generate/image", json=body)
        document = response.json()
        validate_official("ImagesResponse", document)
        assert media.read_png_info(base64.b64decode(document["data"][0]["b64_json"]))[:2] == (512, 512)


def test_characters_list_and_retrieve(serika: MockServer) -> None:
    with _http(serika) as http:
        listing = http.get("/characters").json()
        assert listing["object"] == "list" and {c["id"] for c in listing["data"]} == {"12345", "23456", "34567"}
        aria = http.get("/characters/12345").json()
        assert aria["object"] == "character" and aria["name"] == "Aria"
        missing = http.get("/characters/99999")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "character_not_found"
    at_root = httpx2.get(serika.origin + "/api/openai/v1/characters", headers={"Authorization": f"Bearer {OTHER}"})
    assert at_root.status_code == 200 and len(at_root.json()["data"]) == 3, "also served at Serika's documented path"


def test_free_tier_reads_characters_but_cannot_generate(serika: MockServer) -> None:
    with _http(serika, FREE) as http:
        listing = http.get("/characters").json()
        assert {c["id"] for c in listing["data"]} == {"12345", "23456"}, "only the free characters"
        assert http.get("/characters/12345").status_code == 200
        premium_only = http.get("/characters/34567")
        assert premium_only.status_code == 403 and premium_only.json()["error"]["code"] == "premium_required"
        calls = [
            ("POST", "/chat/completions", {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
            ("POST", "/images/generations", {"prompt": "x"}),
            ("POST", "/jobs/image", {"prompt": "x"}),
            ("GET", "/jobs/job_x", None),
            ("POST", "/generate/text", {"prompt": "x", "model": "openai/gpt-4o"}),
            ("POST", "/generate/image", {"prompt": "x"}),
        ]
        for method, path, body in calls:
            response = http.request(method, path, json=body)
            assert response.status_code == 403, path
            error = response.json()["error"]
            assert error["code"] == "premium_required" and "free tier" in error["message"].lower()
    free_sdk = openai.OpenAI(base_url=serika.url_for("serika"), api_key=FREE, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError):
        free_sdk.chat.completions.create(model="openai/gpt-4o", messages=[{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("key", [PREMIUM, OTHER])
def test_premium_and_unconfigured_keys_get_everything(serika: MockServer, key: str) -> None:
    with _http(serika, key) as http:
        chat = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        assert http.post("/chat/completions", json=chat).status_code == 200
        assert http.post("/images/generations", json={"prompt": "x", "size": "256x256"}).status_code == 200
        assert http.post("/generate/text", json={"prompt": "x", "model": "openai/gpt-4o"}).status_code == 200
        assert http.get("/characters/34567").status_code == 200


def test_free_key_is_not_limited_outside_serika(serika: MockServer) -> None:
    """Tiers are Serika's: its free key generates on the other dialects, and only Serika refuses it."""
    hello = [{"role": "user", "content": "hi"}]
    for dialect, model in (("openai", "gpt-4o"), ("openserv", "gpt-5.4-mini"), ("samurai", "gpt-4o")):
        client = openai.OpenAI(base_url=serika.url_for(dialect), api_key=FREE, max_retries=0)
        messages = [{"role": "system", "content": "Be brief."}, *hello] if dialect == "openserv" else hello
        completion = client.chat.completions.create(model=model, messages=messages)
        assert completion.choices[0].message.content and completion.choices[0].finish_reason == "stop", dialect
    on_serika = openai.OpenAI(base_url=serika.url_for("serika"), api_key=FREE, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError):
        on_serika.chat.completions.create(model="openai/gpt-4o", messages=hello)


def test_rate_limit_429_applies_to_serika_generation() -> None:
    """Serika's docs: "API requests that exceed these limits will receive a 429" (the limiter is --rpm)."""
    with MockServer(rpm=2) as server, _http(server) as http:
        body = {"prompt": "x", "size": "256x256", "response_format": "b64_json"}
        statuses = [http.post("/jobs/image", json=body).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert http.get("/characters").status_code == 200, "reading characters is not generation"
