"""What the docs quote the mock saying is what it says: each quoted answer, error or refusal is sent again here
and compared, so a doc claim cannot go stale unseen."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx2

from mockserver import MockServer

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_schema_error_quoted_in_the_configuration_page_is_the_one_answered() -> None:
    quoted = re.search(r"`(Invalid 'temperature': [^`]+)`", (DOCS / "configuration.md").read_text())
    assert quoted is not None, "docs/configuration.md no longer quotes the temperature error: update this test"
    with MockServer() as server:
        answer = httpx2.post(server.url + "/chat/completions", headers={"Authorization": "Bearer sk-test"},
                             json={"model": "gpt-4o-mini", "temperature": 3.5,
                                   "messages": [{"role": "user", "content": "hi"}]}, timeout=10)
    assert answer.json()["error"]["message"] == quoted.group(1)


def test_the_refusals_quoted_in_the_configuration_page_are_the_ones_printed() -> None:
    text = (DOCS / "configuration.md").read_text()
    quoted = re.findall(r"^\$ (mockserver serve --(?:dialect nope|port 70000))\n(mockserver: .+)$", text, re.MULTILINE)
    assert len(quoted) == 2, "docs/configuration.md no longer quotes both refusals: update this test"
    for command, printed in quoted:
        refused = subprocess.run([sys.executable, "-m", *command.split()], capture_output=True, text=True,
                                 timeout=60)
        assert refused.stderr.strip() == printed, command
