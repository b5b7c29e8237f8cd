"""The README's "works with" table, from the results of a client-matrix run.

``python tests/clients/table.py`` prints it; ``--write README.md`` puts it between the README's
``works-with`` markers; ``--check README.md`` fails when the README says something this run did not show (CI
runs it, so the table is always what the matrix last proved; the version column is not compared, as curl's is
the machine's).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cells import CELLS

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "build" / "clients" / "results"
START, END = "<!-- works-with:start -->", "<!-- works-with:end -->"
CLIENTS = {
    "openai-python": "openai-python",
    "openai-node": "openai-node",
    "ai-sdk:openai": "Vercel AI SDK, `@ai-sdk/openai` (Responses)",
    "ai-sdk:openai-compatible": "Vercel AI SDK, `@ai-sdk/openai-compatible`",
    "langchain": "langchain-openai",
    "pydantic-ai": "pydantic-ai",
    "openai-agents": "openai-agents (Responses)",
    "litellm": "litellm",
    "instructor": "instructor",
    "llama-index": "llama-index",
    "curl": "curl",
    "dspy": "DSPy (ChatAdapter; JSONAdapter as JSON mode; ReAct as the tool loop)",
    "anthropic-python": "anthropic (Python; Messages API)",
    "anthropic-node": "`@anthropic-ai/sdk` (Node; Messages API)",
    "langchain-anthropic": "langchain-anthropic (Messages API)",
    "pydantic-ai-anthropic": "pydantic-ai, `AnthropicModel` (Messages API)",
    "litellm-anthropic": "litellm, `anthropic/` models (Messages API)",
    "ai-sdk:anthropic": "Vercel AI SDK, `@ai-sdk/anthropic` (Messages API)",
    "google-genai": "google-genai (Python; Gemini API)",
    "google-genai-node": "`@google/genai` (Node; Gemini API)",
    "langchain-google-genai": "langchain-google-genai (Gemini API)",
    "pydantic-ai-google": "pydantic-ai, `GoogleModel` (Gemini API)",
    "litellm-gemini": "litellm, `gemini/` models (Gemini API)",
    "ai-sdk:google": "Vercel AI SDK, `@ai-sdk/google` (Gemini API)",
    "ollama-python": "ollama (Python; Ollama API)",
    "ollama-node": "`ollama` (Node; Ollama API)",
    "langchain-ollama": "langchain-ollama (Ollama API)",
    "litellm-ollama": "litellm, `ollama_chat/` models (Ollama API)",
    "smolagents": "smolagents (`CodeAgent`; `ToolCallingAgent` for the streamed tool call)",
    "autogen": "AutoGen (`OpenAIChatCompletionClient`, `AssistantAgent`)",
}
NOT_APPLICABLE = {
    ("openai-agents", "json_mode"): "openai-agents has no JSON mode: its structured output is a json_schema",
    ("instructor", "tool_loop"): "instructor runs no tools: its structured output is itself a tool call",
    ("dspy", "stream_tool"): "DSPy sends no API tools: ReAct writes its tool calls as output fields, which "
                             "streamify streams as text",
    ("anthropic-python", "json_mode"): "Anthropic's API has no JSON mode: its structured output is a JSON schema",
    ("anthropic-node", "json_mode"): "the same for Anthropic's Node SDK",
    ("smolagents", "json_mode"): "smolagents has no JSON mode: its structured output is a JSON schema of "
                                 "thought and code",
    ("langchain-anthropic", "json_mode"): "the same for langchain-anthropic (its structured output is a tool or a "
                                          "JSON schema)",
}
HEADINGS = {"plain": "plain", "stream": "stream", "tool_loop": "tool loop", "stream_tool": "streamed tool call",
            "structured": "structured", "json_mode": "JSON mode", "rate_limit": "429 after retries",
            "retry": "retry then success", "cut_stream": "cut stream raises"}


def load() -> list[dict]:
    return [json.loads(line) for path in sorted(RESULTS.glob("*.jsonl")) for line in path.read_text().splitlines()]


def table(lines: list[dict]) -> str:
    outcomes: dict[tuple[str, str], list[str]] = {}
    versions: dict[str, str] = {}
    for line in lines:
        outcomes.setdefault((line["client"], line["cell"]), []).append(line["outcome"])
        versions[line["client"]] = line.get("version") or versions.get(line["client"], "")
    rows = ["| client | version | " + " | ".join(HEADINGS[cell] for cell in CELLS) + " |",
            "|---|---|" + "---|" * len(CELLS)]
    notes = []
    for client, title in CLIENTS.items():
        marks = []
        for cell in CELLS:
            seen = outcomes.get((client, cell))
            if (client, cell) in NOT_APPLICABLE:
                notes.append(NOT_APPLICABLE[client, cell])
                marks.append(f"n/a ({len(notes)})")
            elif not seen:
                marks.append("not run")
            else:
                marks.append("✓" if all(outcome == "passed" for outcome in seen) else "✗")
        rows.append(f"| {title} | {versions.get(client, '')} | " + " | ".join(marks) + " |")
    footnotes = [f"({number}) {note}." for number, note in enumerate(notes, 1)]
    return "\n".join([*rows, "", "  \n".join(footnotes)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", type=Path, help="put the table into this file, between the works-with markers")
    group.add_argument("--check", type=Path, help="fail when this file's table is not the one this run shows")
    arguments = parser.parse_args()
    made = table(load())
    target = arguments.write or arguments.check
    if target is None:
        print(made)
        return 0
    text = target.read_text()
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        print(f"{target} has no {START} … {END} block for the table", file=sys.stderr)
        return 1
    wanted = f"{head}{START}\n{made}\n{END}{tail}"
    if arguments.write:
        target.write_text(wanted)
        return 0
    if _without_versions(wanted) != _without_versions(text):
        print(f"{target}'s works-with table is not what this run shows; this run's table:\n\n{made}\n\n"
              "Run `bash tests/clients/run` outside CI to write it.", file=sys.stderr)
        return 1
    return 0


def _without_versions(text: str) -> list[str]:
    """The lines of ``text`` with the version column of the table left out: the pins fix the packages' versions,
    and curl's is the machine's."""
    return ["|".join(line.split("|")[:2] + line.split("|")[3:]) if line.startswith("| ") else line
            for line in text.splitlines()]


if __name__ == "__main__":
    sys.exit(main())
