"""The mock answers its own origin only, over a real socket: no web page can drive it, read it or frame it.

The threat model is in docs/reliability.md: a browser on the developer's machine, with a page of another site
open (or one whose name was rebound to 127.0.0.1), sending whatever a page can send.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx2
import pytest

from mockserver import MockServer
from mockserver.app.admin import ADMIN_COOKIE
from mockserver.asgi.origin import OriginPolicy

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
KEY = {"Authorization": "Bearer sk-mock"}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(seed=2) as running:
        yield running


def raw(server: MockServer, request: bytes) -> bytes:
    """Send ``request`` as bytes (any Host, any Origin) and read the whole answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_a_rebound_name_is_refused_on_both_planes(server: MockServer) -> None:
    for path in ("/_mock/requests", "/_mock/config", "/v1/models"):
        answer = httpx2.get(server.origin + path, headers={"Host": f"attacker.example:{server.port}", **KEY})
        assert answer.status_code == 403, path
        error = answer.json()["error"]
        assert error["code"] == "host_not_allowed" and "--allowed-host attacker.example" in error["message"]
    refused = httpx2.post(server.url + "/chat/completions", json=CHAT, headers={"Host": "attacker.example", **KEY})
    assert refused.status_code == 403 and refused.headers["x-request-id"].startswith("req_")
    for host in ("127.0.0.1", "localhost", f"localhost:{server.port}", "[::1]:80", "app.localhost"):
        assert httpx2.get(server.origin + "/v1/models", headers={"Host": host, **KEY}).status_code == 200, host


def test_a_cross_site_request_that_would_act_is_refused(server: MockServer) -> None:
    server.reply("scripted")
    for origin in ("https://attacker.example", "null", f"http://attacker.example:{server.port}"):
        # What a form POST or a no-cors fetch from another site sends: it must not reset the mock.
        reset = raw(server, (f"POST /_mock/reset HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nOrigin: {origin}\r\n"
                             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n").encode())
        assert reset.startswith(b"HTTP/1.1 403") and b"cross_origin_request" in reset, origin
    assert [entry.remaining for entry in server.scripts] == [1], "the script survived"
    chat = httpx2.post(server.url + "/chat/completions", json=CHAT,
                       headers={"Origin": "https://attacker.example", **KEY})
    assert chat.status_code == 403
    same = httpx2.post(server.url + "/chat/completions", json=CHAT, headers={"Origin": server.origin, **KEY})
    assert same.status_code == 200 and same.json()["choices"][0]["message"]["content"] == "scripted"
    assert httpx2.get(server.origin + "/_mock/health", headers={"Origin": "https://attacker.example"}).is_success


def test_allowed_hosts_are_answered() -> None:
    with MockServer(allowed_host=["mock.internal", "ui.example"]) as named:
        assert httpx2.get(named.origin + "/v1/models", headers={"Host": "mock.internal:8000", **KEY}).is_success
        assert httpx2.post(named.origin + "/_mock/reset", headers={"Origin": "https://ui.example"}).is_success
        assert httpx2.get(named.origin + "/v1/models", headers={"Host": "other.example", **KEY}).status_code == 403
    with MockServer(allowed_host=["*"]) as anything:
        assert httpx2.get(anything.origin + "/v1/models", headers={"Host": "whatever.example", **KEY}).is_success


def test_the_policy_knows_loopback_and_the_bound_address() -> None:
    policy = OriginPolicy("127.0.0.1")
    assert policy.host_allowed("127.0.0.2:9") and policy.host_allowed("[::1]") and not policy.host_allowed("10.0.0.1")
    fleet = OriginPolicy("0.0.0.0")
    assert fleet.host_allowed("10.1.2.3:8000") and not fleet.host_allowed("evil.example")
    assert not policy.origin_allowed("null", "127.0.0.1:8000")
    assert policy.origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert not policy.origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8000")


def test_the_page_cannot_be_framed_and_runs_only_its_own_script(server: MockServer) -> None:
    page = httpx2.get(server.origin + "/_mock/ui")
    policy = page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in policy
    assert "script-src 'sha256-" in policy and "unsafe-inline" not in policy and "default-src 'none'" in policy
    assert page.headers["referrer-policy"] == "no-referrer"


def test_the_admin_token_never_stays_in_a_url_or_the_journal() -> None:
    with MockServer(admin_token="s3cret-admin", api_key=["sk-tenant"]) as guarded:
        moved = httpx2.get(guarded.origin + "/_mock/ui?token=s3cret-admin")
        assert moved.status_code == 303 and moved.headers["location"] == "/_mock/ui"
        cookie = moved.headers["set-cookie"]
        assert cookie.startswith(f"{ADMIN_COOKIE}=s3cret-admin") and "HttpOnly" in cookie and "SameSite=strict" in cookie
        with httpx2.Client(base_url=guarded.origin, cookies={ADMIN_COOKIE: "s3cret-admin"}) as page:
            assert page.get("/_mock/ui").status_code == 200
            assert page.get("/_mock/config").status_code == 200
        assert httpx2.get(guarded.origin + "/_mock/config", params={"token": "s3cret-admin"}).status_code == 401
        assert httpx2.get(guarded.origin + "/_mock/ui?token=wrong").status_code == 401
        # A tenant's request sent from a page whose URL held the token: the journal keeps no token.
        httpx2.post(guarded.url + "/chat/completions", json=CHAT, headers={
            "Authorization": "Bearer sk-tenant", "Referer": f"{guarded.origin}/_mock/ui?token=s3cret-admin"})
        mine = httpx2.get(guarded.origin + "/_mock/requests", headers={"Authorization": "Bearer sk-tenant"}).text
        everything = httpx2.get(guarded.origin + "/_mock/requests", headers={"X-Mock-Admin-Token": "s3cret-admin"})
        assert "s3cret-admin" not in mine and "s3cret-admin" not in everything.text
        assert "token=[redacted]" in mine


def test_the_feed_and_metrics_follow_the_journals_authorization() -> None:
    with MockServer(api_key=["sk-one", "sk-two"], admin_token="adm") as shared:
        assert httpx2.get(shared.origin + "/metrics").status_code == 401
        assert httpx2.get(shared.origin + "/metrics", headers={"Authorization": "Bearer adm"}).is_success
        assert httpx2.get(shared.origin + "/_mock/events").status_code == 401
        seen: list[str] = []
        with httpx2.stream("GET", shared.origin + "/_mock/events", headers={"Authorization": "Bearer sk-one"},
                           timeout=10) as feed:
            lines = feed.iter_lines()
            assert next(lines) == ": connected"
            for key in ("sk-two", "sk-one"):
                httpx2.post(shared.url + "/chat/completions", json={**CHAT, "user": key},
                            headers={"Authorization": f"Bearer {key}"})
            for line in lines:
                if line.startswith("data: "):
                    seen.append(line)
                    break
        assert len(seen) == 1 and '"user":"sk-one"' in seen[0].replace(" ", "")
    with MockServer() as open_server:
        assert httpx2.get(open_server.origin + "/metrics").is_success
