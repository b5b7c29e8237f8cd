"""The admin API under /_mock/ and the request journal behind it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest

from mockserver import MockServer

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def fresh() -> Iterator[MockServer]:
    with MockServer(seed=5, journal_size=50) as server:
        yield server


def admin(server: MockServer, **headers: str) -> httpx2.Client:
    return httpx2.Client(base_url=server.origin + "/_mock", headers=headers, timeout=10)


def requests(server: MockServer, **params: object) -> list[dict]:
    """GET /_mock/requests, once the server has journaled what it answered (a request is journaled as it ends)."""
    server.wait_for_requests(1)
    return httpx2.get(server.origin + "/_mock/requests", params=params).json()["data"]


def test_journal_records_each_request(fresh: MockServer) -> None:
    client = openai.OpenAI(base_url=fresh.url, api_key="sk-secret-key", max_retries=1)
    client.chat.completions.create(
        model="gpt-4o", messages=HELLO, stream=True,
        extra_headers={"X-Mock-Fault": "rate_limit;retry_after_ms=1;attempts=0", "X-Mock-Test-Id": "t1"},
    ).close()
    first, second = requests(fresh, test_id="t1")
    assert first["headers"]["authorization"] == "[redacted]" and "sk-secret-key" not in str(first)
    assert (first["attempt"], first["status"], first["faults"], first["decided_by"]) == (
        0, 429, ["rate_limit;retry_after_ms=1;attempts=0"], "header"
    )
    assert first["error_code"] == "rate_limit_exceeded" and first["ended"] == "complete"
    assert (second["attempt"], second["status"], second["dialect"], second["model"], second["stream"]) == (
        1, 200, "openai", "gpt-4o", True
    )
    assert second["body"]["messages"] == HELLO and second["path"] == "/v1/chat/completions"
    assert second["first_byte_ms"] >= 0 and second["duration_ms"] >= second["first_byte_ms"]
    assert second["ended"] in ("complete", "client_disconnect") and first["time"] <= second["time"]


def test_requests_filters(fresh: MockServer) -> None:
    client = openai.OpenAI(base_url=fresh.url, api_key="sk-x", max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=HELLO)
    client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, extra_headers={"X-Mock-Test-Id": "mine"})
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="gpt-4.1", messages=HELLO, extra_headers={"X-Mock-Fault": "http_error;status=404"}
        )
    client.models.list()
    assert len(requests(fresh)) == 4
    assert [entry["model"] for entry in requests(fresh, model="gpt-4o")] == ["gpt-4o"]
    assert [entry["model"] for entry in requests(fresh, status=404)] == ["gpt-4.1"]
    assert [entry["path"] for entry in requests(fresh, path="/models")] == ["/v1/models"]
    assert [entry["model"] for entry in requests(fresh, test_id="mine")] == ["gpt-4o-mini"]
    assert [entry["path"] for entry in requests(fresh, limit=1)] == ["/v1/models"]
    bad = httpx2.get(fresh.origin + "/_mock/requests", params={"status": "ok"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]["message"]


def test_the_journal_pages_with_after_and_limit(fresh: MockServer) -> None:
    client = openai.OpenAI(base_url=fresh.url, api_key="sk-x", max_retries=0)
    for _ in range(5):
        client.models.list()
    ids = [entry["id"] for entry in requests(fresh)]
    pages, after = [], 0
    while after is not None and len(pages) < 10:
        page = httpx2.get(fresh.origin + "/_mock/requests", params={"after": after, "limit": 2}).json()
        pages.append([entry["id"] for entry in page["data"]])
        assert page["first_id"] == pages[-1][0] and page["last_id"] == pages[-1][-1]
        after = page["last_id"] if page["has_more"] else None
    assert pages == [ids[0:2], ids[2:4], ids[4:5]]
    newest = httpx2.get(fresh.origin + "/_mock/requests", params={"limit": 2}).json()
    assert [entry["id"] for entry in newest["data"]] == ids[3:] and newest["has_more"] is True
    past_the_end = httpx2.get(fresh.origin + "/_mock/requests", params={"after": ids[-1]}).json()
    assert past_the_end == {"object": "list", "first_id": None, "last_id": None, "has_more": False, "data": []}


def healthy(health: dict[str, Any]) -> bool:
    """Whether a health answer says ok (on a fleet's state it also says where the state is and that it answers)."""
    reachable = health.get("state", {"reachable": True})["reachable"]
    return health["status"] == "ok" and set(health) <= {"status", "state"} and reachable is True


def test_script_reset_health_config(fresh: MockServer) -> None:
    with admin(fresh) as api:
        assert healthy(api.get("/health").json())
        config = api.get("/config").json()
        assert config["seed"] == 5 and config["journal_size"] == 50
        posted = api.post("/script", json={"behaviors": [{"reply": "a", "times": 3}]},
                          headers={"X-Mock-Test-Id": "one"}).json()["behaviors"]
        api.post("/script", json={"behaviors": [{"fault": "hang", "match": {"model": "gpt-4o"}}]})
        assert posted == [{"id": 1, "test_id": "one", "remaining": 3, "used": 0, "behavior": {"reply": "a", "times": 3}}]
        assert [entry["id"] for entry in api.get("/script").json()["behaviors"]] == [1, 2]
        mine = api.get("/script", headers={"X-Mock-Test-Id": "one"}).json()["behaviors"]
        assert [entry["id"] for entry in mine] == [1]
        client = openai.OpenAI(base_url=fresh.url, api_key="sk-x", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, extra_headers={"X-Mock-Test-Id": "one"})
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        assert len(requests(fresh)) == 2
        (used,) = api.get("/script", headers={"X-Mock-Test-Id": "one"}).json()["behaviors"]
        assert (used["remaining"], used["used"]) == (2, 1)  # the scripted reply answered the request of test "one"
        assert api.post("/reset", headers={"X-Mock-Test-Id": "one"}).json() == {"reset": {"test_id": "one"}}
        assert [entry["id"] for entry in api.get("/script").json()["behaviors"]] == [2]
        assert [entry["test_id"] for entry in requests(fresh)] == [None]
        assert api.post("/reset").json() == {"reset": "all"}
        assert api.get("/script").json() == {"behaviors": []}
        assert httpx2.get(fresh.origin + "/_mock/requests").json()["data"] == []


def test_journal_is_bounded() -> None:
    with MockServer(journal_size=3) as server:
        client = openai.OpenAI(base_url=server.url, api_key="sk-x", max_retries=0)
        for index in range(5):
            client.models.retrieve("gpt-4o", extra_headers={"X-Mock-Test-Id": str(index)})
        assert [entry["test_id"] for entry in requests(server)] == ["2", "3", "4"]


def test_admin_token() -> None:
    with MockServer(admin_token="s3cret") as server:
        assert httpx2.get(server.origin + "/_mock/health").status_code == 200
        for headers in ({}, {"X-Mock-Admin-Token": "wrong"}):
            response = httpx2.get(server.origin + "/_mock/requests", headers=headers)
            assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_admin_token"
        assert httpx2.post(server.origin + "/_mock/reset").status_code == 401
        ok = httpx2.get(server.origin + "/_mock/config", headers={"X-Mock-Admin-Token": "s3cret"})
        assert ok.status_code == 200 and ok.json()["admin_token"] == "***"


def test_no_control_turns_the_admin_api_off() -> None:
    with MockServer(control=False) as server:
        assert httpx2.get(server.origin + "/_mock/health").status_code == 200
        for path in ("/_mock/requests", "/_mock/script", "/_mock/config"):
            assert httpx2.get(server.origin + path).status_code == 404


def test_admin_and_health_bypass_faults() -> None:
    with MockServer(fault=["reset=1"]) as server:
        client = openai.OpenAI(base_url=server.url, api_key="sk-x", max_retries=0)
        with pytest.raises(openai.APIConnectionError):
            client.models.list()
        assert healthy(httpx2.get(server.origin + "/_mock/health").json())
        test_id = uuid.uuid4().hex
        posted = httpx2.post(server.origin + "/_mock/script", json={"behaviors": [{"reply": "fine"}]},
                             headers={"X-Mock-Test-Id": test_id})
        assert posted.status_code == 200
        reply = client.chat.completions.create(
            model="gpt-4o", messages=HELLO, extra_headers={"X-Mock-Test-Id": test_id}
        )
        assert reply.choices[0].message.content == "fine"
        assert [entry["ended"] for entry in requests(server)] == ["reset", "complete"]
