"""The sandbox's API: the page itself, its live feed, one exchange in detail, why it was answered so, the buckets."""

from __future__ import annotations

import json
import re
import threading

import httpx2
import openai
import pytest

from mockserver import MockServer

from helpers import API_KEY

HELLO = [{"role": "user", "content": "What is the weather in Paris?"}]


def test_the_page_is_one_offline_file() -> None:
    with MockServer() as server:
        page = httpx2.get(server.origin + "/_mock/ui", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/*SCRIPT*/" not in page.text and "EventSource" in page.text and "timeline" in page.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text), "the page loads nothing from elsewhere"


def test_the_feed_sends_each_exchange_as_it_finishes() -> None:
    with MockServer() as server:
        seen: list[dict] = []
        ready = threading.Event()

        def listen() -> None:
            with httpx2.stream("GET", server.origin + "/_mock/events", timeout=10) as feed:
                for line in feed.iter_lines():
                    if line.startswith(": connected"):
                        ready.set()
                    if line.startswith("data: "):
                        seen.append(json.loads(line[6:]))
                        if len(seen) == 2:
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert ready.wait(5)
        client = openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        httpx2.get(server.origin + "/_mock/requests", timeout=10)  # admin requests are not fed
        client.models.list()
        listener.join(5)
    assert [entry["path"] for entry in seen] == ["/v1/chat/completions", "/v1/models"]
    assert seen[0]["status"] == 200 and seen[0]["model"] == "gpt-4o-mini" and "response_parts" not in seen[0]


def test_one_exchange_shows_its_frames_their_times_and_where_a_fault_cut() -> None:
    with MockServer() as server:
        faulty = openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0,
                               default_headers={"X-Mock-Fault": "disconnect;after_chunks=3"})
        with pytest.raises(openai.APIConnectionError):
            for _ in faulty.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True):
                pass
        exchange = server.requests[-1]
        detail = httpx2.get(f"{server.origin}/_mock/requests/{exchange.id}", timeout=10).json()
        missing = httpx2.get(f"{server.origin}/_mock/requests/999999", timeout=10)
    assert len(detail["frames"]) == 3 and all(frame["data"].startswith("data: {") for frame in detail["frames"])
    assert [frame["ms"] for frame in detail["frames"]] == sorted(frame["ms"] for frame in detail["frames"])
    assert detail["marks"] == [{"fault": "disconnect", "chunk": 3, "ms": detail["marks"][0]["ms"]}]
    assert detail["body"]["messages"] == HELLO and detail["ended"] == "disconnect"
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "exchange_id"


def test_why_names_the_nearest_rules_and_the_keys_they_failed(tmp_path) -> None:
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - match: {message_contains: oslo, tools_include: get_weather}\n    reply: cold\n"
        "  - match: {model: gpt-4.1}\n    reply: big\n")
    with MockServer(fixtures=[str(tmp_path)]) as server:
        server.script({"reply": "scripted", "match": {"message_contains": "tokyo"}, "times": 2})
        openai.OpenAI(base_url=server.url, api_key=API_KEY).chat.completions.create(model="gpt-4o-mini",
                                                                                     messages=HELLO)
        exchange = server.requests[-1]
        why = httpx2.get(f"{server.origin}/_mock/requests/{exchange.id}/why", timeout=10).json()
    assert why["decided_by"] is None
    failed = {item["source"]: item["failed"] for item in why["nearest"]}
    assert failed["script #1"] == ["message_contains"]
    assert failed[f"fixture {tmp_path / 'rules.yaml'}:2"] == ["tools_include", "message_contains"]
    assert failed[f"fixture {tmp_path / 'rules.yaml'}:4"] == ["model"]


def test_the_rate_limit_buckets_show_what_is_left() -> None:
    with MockServer(rpm=5) as server:
        openai.OpenAI(base_url=server.url, api_key=API_KEY).chat.completions.create(model="gpt-4o-mini",
                                                                                     messages=HELLO)
        limits = httpx2.get(server.origin + "/_mock/ratelimits", timeout=10).json()
    [bucket] = limits["buckets"]
    assert limits["rpm"] == 5 and bucket["bucket"] == "requests" and bucket["remaining"] == 4
    assert bucket["key"] != API_KEY and 0 < bucket["full_in_seconds"] <= 12


def test_the_page_has_the_admin_apis_auth() -> None:
    with MockServer(admin_token="s3cret") as server:
        refused = httpx2.get(server.origin + "/_mock/ui", timeout=10)
        opened = httpx2.get(server.origin + "/_mock/ui?token=s3cret", timeout=10, follow_redirects=True)
        feed = httpx2.get(server.origin + "/_mock/events", timeout=10)
    assert refused.status_code == 401 and opened.status_code == 200 and feed.status_code == 401
    assert [step.status_code for step in opened.history] == [303] and str(opened.url).endswith("/_mock/ui")
    with MockServer(control=False) as server:
        assert httpx2.get(server.origin + "/_mock/ui", timeout=10).status_code == 404


@pytest.mark.timing  # bounds wall-clock time: runs with the timing tests, alone
def test_an_open_feed_does_not_hold_up_shutdown() -> None:
    import time

    server = MockServer().start()
    opened = threading.Event()

    def listen() -> None:
        try:
            with httpx2.stream("GET", server.origin + "/_mock/events", timeout=30) as feed:
                for _ in feed.iter_lines():
                    opened.set()
        except httpx2.HTTPError:
            pass  # the server cut the feed: what shutting down does to it

    threading.Thread(target=listen, daemon=True).start()
    assert opened.wait(5)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 0.8, "the feed held the shutdown until the graceful timeout (1 s)"
