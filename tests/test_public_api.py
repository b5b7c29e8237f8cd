"""What users touch: ``mockserver.__all__``, one exception base, one version, the in-process transports."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import mockserver

ROOT = Path(__file__).resolve().parent.parent


def test_all_lists_what_users_touch_and_each_name_imports() -> None:
    assert sorted(mockserver.__all__) == sorted([
        "ApiError", "Config", "ConfigError", "Exchange", "FixtureError", "MockServer", "MockserverError",
        "ScriptEntry", "SpecError", "SyncTransport", "__version__", "async_transport", "create_app",
    ])
    assert "AppState" not in mockserver.__all__
    for name in mockserver.__all__:
        assert getattr(mockserver, name) is not None


def test_every_deliberate_exception_derives_from_one_base() -> None:
    from mockserver.faults import SpecError as public_spec_error

    for error in (mockserver.ApiError, mockserver.ConfigError, mockserver.SpecError, mockserver.FixtureError):
        assert issubclass(error, mockserver.MockserverError)
    assert public_spec_error is mockserver.SpecError  # the documented import path stays


def test_the_version_has_one_source() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "mockserver/_version.py"
    from importlib.metadata import version

    assert version("mockserver") == mockserver.__version__


def test_script_entries_count_their_uses() -> None:
    import openai

    with mockserver.MockServer() as server:
        entry = server.reply("counted", times=3)
        client = openai.OpenAI(base_url=server.url, api_key="sk-count", max_retries=0)
        for _ in range(2):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
        assert (entry.used, entry.remaining) == (2, 1)


HTTPX_ONLY = """
import sys
sys.modules["httpx2"] = None  # as if httpx2 were not installed: importing it raises ImportError
import httpx
from mockserver import MockServer, SyncTransport, async_transport

server = MockServer()
server.reply("in process")
with httpx.Client(transport=SyncTransport(server.app, http=httpx), base_url="http://mockserver") as client:
    answer = client.post("/v1/chat/completions", headers={"Authorization": "Bearer sk"},
                         json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]})
assert answer.json()["choices"][0]["message"]["content"] == "in process", answer.text
assert async_transport(server.app, http=httpx).__class__.__module__.startswith("httpx")
print("ok")
"""


def test_the_httpx_path_works_without_httpx2() -> None:
    result = subprocess.run([sys.executable, "-c", HTTPX_ONLY], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
