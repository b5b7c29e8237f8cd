"""``--rpm`` / ``--tpm``: token buckets per API key, exact Retry-After, OpenAI's x-ratelimit-* headers."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import openai
import pytest

from mockserver import MockServer
from mockserver.control.ratelimit import RateLimiter, estimate_tokens, format_duration

HELLO = [{"role": "user", "content": "Hi"}]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.012, "12ms"), (0.0004, "1ms"), (1, "1s"), (1.5, "1.5s"), (20.25, "20.25s"), (360, "6m0s"),
     (61.5, "1m1.5s"), (3725, "1h2m5s")],
)
def test_durations_in_openai_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_bucket_refills_continuously_and_says_exactly_when() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=2, tpm=None, clock=clock)
    assert limiter.take("k", 0, "m")[1]["x-ratelimit-remaining-requests"] == "1"
    error, headers = limiter.take("k", 0, "m")
    assert error is None and headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"] == "1m0s"
    clock.now += 10
    error, _ = limiter.take("k", 0, "m")
    assert error is not None and error.status == 429 and error.type == "requests"
    assert error.headers["retry-after"] == "20" and error.headers["retry-after-ms"] == "20000"
    assert "Limit 2, Used 2, Requested 1. Please try again in 20s." in error.message
    assert limiter.take("other key", 0, "m")[0] is None  # buckets are per API key
    clock.now += 20
    assert limiter.take("k", 0, "m")[0] is None
    assert limiter.take("k", 0, "m")[0] is not None


def test_token_bucket_and_request_too_large() -> None:
    clock = Clock()
    limiter = RateLimiter(rpm=None, tpm=600, clock=clock)
    assert limiter.take("k", 500, "m")[0] is None
    error, headers = limiter.take("k", 200, "m")
    assert error is not None and error.type == "tokens" and error.headers["retry-after-ms"] == "10000"
    assert headers["x-ratelimit-remaining-tokens"] == "100" and headers["x-ratelimit-reset-tokens"] == "50s"
    too_large, _ = limiter.take("k", 601, "m")
    assert too_large is not None and too_large.headers["x-should-retry"] == "false"
    assert "Request too large" in too_large.message


def test_token_estimate_is_characters_over_four_plus_budget() -> None:
    body = {"messages": [{"role": "user", "content": "x" * 41}], "max_completion_tokens": 100}
    assert estimate_tokens(body) == 11 + 100


@pytest.fixture(scope="module")
def limited() -> Iterator[MockServer]:
    with MockServer(rpm=3, tpm=100_000) as server:
        yield server


def test_rpm_limit_over_the_socket(limited: MockServer) -> None:
    client = openai.OpenAI(base_url=limited.url, api_key="sk-rpm-test", max_retries=0)
    remaining = []
    started = time.monotonic()
    for _ in range(3):
        response = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
        remaining.append(response.headers["x-ratelimit-remaining-requests"])
        assert response.headers["x-ratelimit-limit-requests"] == "3"
        assert response.headers["x-ratelimit-limit-tokens"] == "100000"
    assert remaining == ["2", "1", "0"]
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    error = raised.value
    assert error.code == "rate_limit_exceeded" and error.type == "requests"
    millis = int(error.response.headers["retry-after-ms"])
    took_ms = (time.monotonic() - started) * 1000
    assert 20_000 - took_ms - 50 < millis <= 20_000  # one request refills in 60 s / 3, less what refilled since
    assert error.response.headers["retry-after"] == str(math.ceil(millis / 1000))
    assert error.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert error.response.headers["x-ratelimit-reset-requests"].endswith("s")
    # another key has its own bucket; a fault header's 429 does not spend the limit
    other = openai.OpenAI(base_url=limited.url, api_key="sk-rpm-other", max_retries=0)
    with pytest.raises(openai.RateLimitError):
        other.chat.completions.create(model="gpt-4o-mini", messages=HELLO, extra_headers={"X-Mock-Fault": "rate_limit"})
    response = other.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
    assert response.headers["x-ratelimit-remaining-requests"] == "2"
