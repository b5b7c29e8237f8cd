"""Output protocols a prompt prescribes, answered in their own format: what an agent framework parses.

A framework that does not use the API's structured outputs writes its output format into the prompt and parses
the model's text. Each protocol is one module here: :func:`recognise` finds it in the messages (or None), and the
answer it returns is the text the framework's parser takes. They are tried in :data:`PROTOCOLS` order, before the
generic reading of prompted JSON (:mod:`mockserver.generation.prompted`).

- :mod:`.dspy`: DSPy's ChatAdapter (every output field under its ``[[ ## field ## ]]`` marker, then
  ``[[ ## completed ## ]]``) and JSONAdapter (one JSON object of the output fields), with ReAct's turns: a listed
  tool while the trajectory has no observation, then ``finish``.
- :mod:`.react`: the ReAct text format (``Thought`` / ``Action`` / ``Action Input`` / ``Observation`` /
  ``Final Answer``) of LangChain's ReAct agent, CrewAI and hand-written agents: an action while nothing is
  observed, then the final answer.
- :mod:`.code_agent`: code agents (smolagents' ``CodeAgent``): a thought and a code block, between the tags the
  prompt names, that calls the listed tool the task relates to and prints its result; once an observation is in,
  a block that calls ``final_answer``.
"""

from __future__ import annotations

import random
from typing import Any, Protocol

from mockserver.generation.protocols import code_agent, dspy, react


class OutputProtocol(Protocol):
    """A protocol's module: it recognises its prompts and answers them."""

    def recognise(self, messages: list[dict[str, Any]], *, json_mode: bool, schema: dict[str, Any] | None) -> Any:
        """What the messages prescribe, or None; ``json_mode`` is on with a JSON object or a ``schema`` asked."""

    def answer(self, asked: Any, rng: random.Random) -> str: ...


PROTOCOLS: tuple[OutputProtocol, ...] = (dspy, react, code_agent)


def prescribed_answer(messages: list[dict[str, Any]], rng: random.Random, *, json_mode: bool,
                      schema: dict[str, Any] | None = None) -> str | None:
    """The answer in the protocol the messages prescribe, or None when they prescribe none."""
    for protocol in PROTOCOLS:
        asked = protocol.recognise(messages, json_mode=json_mode or schema is not None, schema=schema)
        if asked is not None:
            return protocol.answer(asked, rng)
    return None


__all__ = ["PROTOCOLS", "prescribed_answer"]
