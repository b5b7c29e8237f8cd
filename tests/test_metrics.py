"""``GET /metrics``: Prometheus text, parsed with prometheus_client's own parser; the counters move with requests."""

from __future__ import annotations

import httpx2
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mockserver import MockServer

from helpers import API_KEY

HELLO = [{"role": "user", "content": "Hello"}]


def scrape(server: MockServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = httpx2.get(server.origin + "/metrics", timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_and_histograms_move_as_requests_are_made() -> None:
    with MockServer(seed=4, rpm=3) as server:
        client = openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0)
        before = scrape(server)
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True):
            pass
        faulty = client.with_options(default_headers={"X-Mock-Fault": "disconnect;after_chunks=2"})
        with pytest.raises(openai.APIConnectionError):
            for _ in faulty.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True):
                pass
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        after = scrape(server)
    ok = {"dialect": "openai", "endpoint": "chat.completions", "model": "gpt-4o-mini", "status": "200"}
    assert value(after, "mockserver_requests_total", **ok) - value(before, "mockserver_requests_total", **ok) == 3
    assert value(after, "mockserver_requests_total", **{**ok, "status": "429"}) == 1
    assert value(after, "mockserver_rate_limited_total", bucket="requests") == 1
    assert value(after, "mockserver_faults_total", fault="disconnect") == 1
    assert value(after, "mockserver_tokens_total", direction="in") > 0
    assert value(after, "mockserver_tokens_total", direction="out") > 0
    assert value(after, "mockserver_time_to_first_byte_seconds_count") == 4
    assert value(after, "mockserver_request_duration_seconds_count") == 4
    assert value(after, "mockserver_stream_chunk_gap_seconds_count") > 0
    assert value(after, "mockserver_journal_entries") >= 4
    assert value(after, "mockserver_journal_bytes") > 0
    assert value(after, "mockserver_store_entries", store="completions") == 0


def test_store_sizes_follow_what_is_stored(tmp_path) -> None:
    for settings in ({}, {"state_dir": str(tmp_path)}):
        with MockServer(**settings) as server:
            client = openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0)
            client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, store=True)
            client.files.create(file=("a.jsonl", b"{}\n"), purpose="batch")
            samples = scrape(server)
        assert value(samples, "mockserver_store_entries", store="completions") == 1, settings
        assert value(samples, "mockserver_store_entries", store="resources") >= 1, settings


def test_metrics_can_be_turned_off() -> None:
    with MockServer(metrics=False) as server:
        answer = httpx2.get(server.origin + "/metrics", timeout=10)
    assert answer.status_code == 404 and "--no-metrics" in answer.json()["error"]["message"]


def test_random_model_ids_cannot_grow_the_registry_without_bound() -> None:
    with MockServer() as server:
        for number in range(80):
            httpx2.post(server.url + "/chat/completions", timeout=10, headers={"Authorization": f"Bearer {API_KEY}"},
                        json={"model": f"model-{number}", "messages": HELLO})
        models = {dict(labels).get("model") for name, labels in scrape(server) if name == "mockserver_requests_total"}
    assert len(models) <= 65 and "other" in models
