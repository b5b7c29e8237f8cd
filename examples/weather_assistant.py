"""A tiny application built on the openai SDK: it answers questions and calls a weather tool when asked.

It is what the tests next to it test: code that knows nothing about the mock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from openai import AsyncOpenAI, OpenAI

MODEL = "gpt-4o-mini"
SYSTEM = "You are a concise assistant. Use get_weather for any question about the weather."
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
MAX_TOOL_ROUNDS = 3


def get_weather(city: str) -> str:
    """Stands in for a real weather API."""
    return f"22 °C and sunny in {city}"


def answer(question: str, client: OpenAI | None = None) -> str:
    """Answer ``question``, running the weather tool as often as the model asks (up to three rounds).

    Without ``client``, the SDK reads ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``.
    """
    client = client or OpenAI()
    messages: list[dict] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
    for _ in range(MAX_TOOL_ROUNDS):
        reply = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
        message = reply.choices[0].message
        if not message.tool_calls:
            return message.content or ""
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            result = get_weather(**json.loads(call.function.arguments))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    raise RuntimeError(f"the model still wanted tools after {MAX_TOOL_ROUNDS} rounds")


def stream_answer(question: str, client: OpenAI) -> Iterator[str]:
    """The answer as it is generated, piece by piece (no tools)."""
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": question}], stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content


async def answer_async(question: str, client: AsyncOpenAI) -> str:
    """One answer from the async client."""
    reply = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}])
    return reply.choices[0].message.content or ""
