"""No web page can drive the mock, in a real browser: a page of another site, and a page whose name points at
this machine (Chromium resolves attacker.test to 127.0.0.1, as DNS rebinding would)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx2
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from mockserver import MockServer

ATTACK = """<!doctype html><title>another site</title>
<form id="reset" method="post" action="{mock}/_mock/reset" target="sink"></form>
<iframe name="sink"></iframe>
<script>
fetch("{mock}/_mock/script", {{method: "POST", mode: "no-cors", body: '{{"behaviors":[{{"fault":"rate_limit"}}]}}'}})
  .finally(() => {{ document.getElementById("reset").submit(); document.title = "sent"; }});
</script>"""


@pytest.fixture
def attacker(server: MockServer) -> Iterator[str]:
    """A page of another site (another port is another origin), which sends the mock what any page can send."""
    page = ATTACK.format(mock=server.origin).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}/"
    finally:
        site.shutdown()


def test_a_page_of_another_site_cannot_script_or_reset_the_mock(browser: webdriver.Chrome, server: MockServer,
                                                               attacker: str, screenshot) -> None:  # type: ignore[no-untyped-def]
    server.reply("kept")
    browser.get(attacker)
    WebDriverWait(browser, 10).until(expected_conditions.title_is("sent"))
    def arrived(driver: object) -> list:
        return [entry for entry in server.state.journal.entries() if entry.path in ("/_mock/reset", "/_mock/script")]

    refused = WebDriverWait(browser, 10).until(lambda driver: len(arrived(driver)) == 2 and arrived(driver))
    assert sorted(entry.path for entry in refused) == ["/_mock/reset", "/_mock/script"]
    assert all(entry.headers["origin"] == attacker.rstrip("/") for entry in refused)
    assert {entry.status for entry in refused} == {403}
    assert [entry.remaining for entry in server.scripts] == [1], "nothing was reset, nothing was scripted"
    screenshot("another-site")


def test_a_rebound_name_gets_nothing(browser: webdriver.Chrome, screenshot) -> None:  # type: ignore[no-untyped-def]
    with MockServer(admin_token="s3cret") as guarded:
        browser.get(f"http://attacker.test:{guarded.port}/_mock/ui?token=s3cret")
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "host_not_allowed" in body and "kept" not in body
        browser.get(f"http://attacker.test:{guarded.port}/_mock/requests")
        assert "host_not_allowed" in browser.find_element(By.TAG_NAME, "body").text
        screenshot("rebound")
        # The developer's own page: the token leaves the URL at once and never reaches the journal.
        browser.get(f"{guarded.origin}/_mock/ui?token=s3cret")
        WebDriverWait(browser, 10).until(expected_conditions.text_to_be_present_in_element((By.ID, "feed-state"),
                                                                                           "live"))
        assert browser.current_url == f"{guarded.origin}/_mock/ui"
        journal = httpx2.get(guarded.origin + "/_mock/requests", headers={"X-Mock-Admin-Token": "s3cret"}).text
        assert "s3cret" not in journal
