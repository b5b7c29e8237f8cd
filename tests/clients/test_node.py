"""The Node clients: openai-node 7.59, the Vercel AI SDK 7 (``@ai-sdk/openai``, ``@ai-sdk/openai-compatible``,
``@ai-sdk/anthropic``, ``@ai-sdk/google``), Anthropic's ``@anthropic-ai/sdk`` 1.10 (the Messages API; it has no JSON
mode, so no such cell; the AI SDK's JSON output on Anthropic is its prompt's), Google's ``@google/genai`` 3.1 (the
Gemini API) and ``ollama`` 0.6 (Ollama's native API).

Each script in ``node/`` runs every cell against the session's mock and prints a line per cell; each line
is one test here, and the attempts a cell claims are checked against the mock's journal. Node 22 or newer is
needed (``openai@7``): ``MOCKSERVER_NODE``, else ``build/clients/node22`` (``tests/clients/run`` installs it
from the npm registry), else ``node`` on the PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from mockserver import MockServer

from cells import CELLS, attempts

HERE = Path(__file__).parent / "node"
LOCAL_NODE = Path(__file__).resolve().parents[2] / "build" / "clients" / "node22" / "node_modules" / ".bin" / "node"
CLIENTS = {
    "openai-node": ["openai.mjs"],
    "ai-sdk:openai": ["ai_sdk.mjs", "openai"],
    "ai-sdk:openai-compatible": ["ai_sdk.mjs", "openai-compatible"],
    "ai-sdk:anthropic": ["ai_sdk.mjs", "anthropic"],
    "anthropic-node": ["anthropic.mjs"],
    "google-genai-node": ["google.mjs"],
    "ai-sdk:google": ["ai_sdk.mjs", "google"],
    "ollama-node": ["ollama.mjs"],
}
PACKAGES = {"openai-node": "openai", "ai-sdk:openai": "@ai-sdk/openai", "ai-sdk:openai-compatible": "@ai-sdk/openai-compatible",
            "ai-sdk:anthropic": "@ai-sdk/anthropic", "anthropic-node": "@anthropic-ai/sdk",
            "google-genai-node": "@google/genai", "ai-sdk:google": "@ai-sdk/google", "ollama-node": "ollama"}
NO_CELL = {("anthropic-node", "json_mode")}
"""Cells a client has nothing for (tests/clients/table.py says why)."""


def package_version(package: str) -> str:
    return json.loads((HERE / "node_modules" / package / "package.json").read_text())["version"]


def node() -> str:
    found = os.environ.get("MOCKSERVER_NODE") or (str(LOCAL_NODE) if LOCAL_NODE.exists() else shutil.which("node"))
    assert found, "no Node.js: run tests/clients/run, which installs Node 22 from the npm registry"
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 22, f"{found} is Node {version}; openai@7 needs 22 or newer"
    assert (HERE / "node_modules").is_dir(), "the Node clients are not installed: npm ci --prefix tests/clients/node"
    return found


@cache
def results(origin: str, client: str) -> dict[str, dict]:
    script, *arguments = CLIENTS[client]
    done = subprocess.run([node(), str(HERE / script), origin + "/v1", *arguments], capture_output=True, text=True,
                          timeout=300, check=False)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"{script} printed no results: {done.stderr[-2000:]}"
    return {line["cell"]: line for line in lines}


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("client", CLIENTS)
def test_cell(server: MockServer, client: str, cell: str, record_property) -> None:  # type: ignore[no-untyped-def]
    if (client, cell) in NO_CELL:
        pytest.skip(f"{client} has no {cell}")
    record_property("client", client)
    record_property("cell", cell)
    version = package_version(PACKAGES[client])
    record_property("version", f"{version}, ai {package_version('ai')}" if client.startswith("ai-sdk") else version)
    line = results(server.origin, client).get(cell)
    assert line is not None, f"{client} has no {cell} cell"
    assert line["ok"], line["detail"]
    if line["attempts"] is not None:
        assert attempts(server, line["test_id"]) == line["attempts"]
