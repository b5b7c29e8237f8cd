"""Same seed + same request = same bytes, across separately started server processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import pytest

from helpers import serve_process as start_serve

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Tell me a story"}], "n": 2}
HEADERS = {"Authorization": "Bearer sk-test"}


@contextmanager
def serve_process(*flags: str) -> Iterator[str]:
    with start_serve("--log-level", "warning", *flags) as served:
        yield served.origin


def _fetch(origin: str) -> tuple[bytes, bytes]:
    plain = httpx2.post(origin + "/v1/chat/completions", json=BODY, headers=HEADERS).content
    stream = httpx2.post(origin + "/v1/chat/completions", json={**BODY, "stream": True}, headers=HEADERS).content
    return plain, stream


def test_two_processes_with_same_seed_and_frozen_time_are_byte_identical() -> None:
    with serve_process("--seed", "42", "--freeze-time") as first:
        one = _fetch(first)
        banner_checked = True
    with serve_process("--seed", "42", "--freeze-time") as second:
        two = _fetch(second)
    assert banner_checked and one == two
    with serve_process("--seed", "43", "--freeze-time") as third:
        three = _fetch(third)
    assert three[0] != one[0]


def test_without_frozen_time_content_is_stable_but_ids_differ() -> None:
    with serve_process("--seed", "5") as origin:
        first = httpx2.post(origin + "/v1/chat/completions", json=BODY, headers=HEADERS).json()
        second = httpx2.post(origin + "/v1/chat/completions", json=BODY, headers=HEADERS).json()
    assert first["id"] != second["id"]
    assert first["choices"] == second["choices"]
    assert first["system_fingerprint"] == second["system_fingerprint"]


@pytest.mark.parametrize("flag", [["--seed", "x"], ["--validation", "loose"]])
def test_cli_rejects_bad_flags(flag: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "mockserver", "serve", *flag], capture_output=True, text=True)
    assert result.returncode == 2 and flag[0] in result.stderr
