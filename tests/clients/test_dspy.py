"""DSPy 3.4: ``dspy.LM("openai/…")`` (litellm underneath) with its ChatAdapter and JSONAdapter, ``Predict``,
``ChainOfThought``, ``ReAct`` and ``streamify``. DSPy sends no API tools: its output format is in the prompt
(``[[ ## field ## ]]`` markers), which the mock answers in (``mockserver/generation/protocols/dspy.py``)."""

from __future__ import annotations

import asyncio

import dspy
import pytest
from dspy.utils.exceptions import LMRateLimitError, LMServerError

from mockserver import MockServer

from cells import (
    CUT,
    WEATHER_QUESTION,
    attempts,
    control,
    limited_every_time,
    limited_once,
    weather,
)

PACKAGE = "dspy"
MODEL = "openai/gpt-4o-mini"


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return weather(city)


def lm(server: MockServer, headers: dict[str, str] | None = None, retries: int = 0) -> dspy.LM:
    return dspy.LM(MODEL, api_base=server.url, api_key="sk-client-matrix", cache=False, num_retries=retries,
                   extra_headers=headers or {})


def predict(server: MockServer, signature: str = "question -> answer", **options) -> dspy.Prediction:  # type: ignore[no-untyped-def]
    with dspy.context(lm=lm(server, **options)):
        return dspy.Predict(signature)(question="What is the capital of France?")


def streamed(server: MockServer, headers: dict[str, str] | None = None) -> dspy.Prediction:
    program = dspy.streamify(dspy.Predict("question -> answer"))

    async def run() -> dspy.Prediction:
        with dspy.context(lm=lm(server, headers)):
            final = None
            async for item in program(question="What is the capital of France?"):
                final = item
            return final

    return asyncio.run(run())


def test_plain(server: MockServer) -> None:
    test_id, headers = control()
    assert predict(server, headers=headers).answer
    assert attempts(server, test_id) == 1  # the ChatAdapter parsed the first answer: no JSON fallback


def test_stream(server: MockServer) -> None:
    assert streamed(server).answer == predict(server).answer


def test_tool_loop(server: MockServer) -> None:
    with dspy.context(lm=lm(server)):
        result = dspy.ReAct("question -> answer", tools=[get_weather], max_iters=5)(question=WEATHER_QUESTION)
    trajectory = result.trajectory
    assert trajectory["tool_name_0"] == "get_weather" and trajectory["tool_args_0"] == {"city": "Paris"}
    assert trajectory["observation_0"] == weather("Paris") and trajectory["tool_name_1"] == "finish"
    assert result.answer


def test_structured(server: MockServer) -> None:
    with dspy.context(lm=lm(server)):
        result = dspy.ChainOfThought("question -> answer: int, sure: bool")(question="How many legs has a cat?")
    assert result.reasoning and isinstance(result.answer, int) and isinstance(result.sure, bool)


def test_json_mode(server: MockServer) -> None:
    with dspy.context(lm=lm(server), adapter=dspy.JSONAdapter()):
        result = dspy.Predict("question -> answer, confidence: float")(question="What is the capital of France?")
        react = dspy.ReAct("question -> answer", tools=[get_weather], max_iters=5)(question=WEATHER_QUESTION)
    assert result.answer and isinstance(result.confidence, float)
    assert react.trajectory["tool_name_0"] == "get_weather" and react.trajectory["tool_name_1"] == "finish"


def test_rate_limit(server: MockServer) -> None:
    # three requests: litellm's two retries, each the SDK's first attempt
    limited_every_time(server, lambda headers: predict(server, headers=headers, retries=2), LMRateLimitError)


def test_retry(server: MockServer) -> None:
    assert limited_once(server, lambda headers: predict(server, headers=headers, retries=2)).answer


def test_cut_stream(server: MockServer) -> None:
    _, headers = control(CUT)
    with pytest.raises(LMServerError, match="MidStreamFallbackError"):  # litellm's mid-stream error, wrapped
        streamed(server, headers)
