"""Chat completion generation: from a validated request to choices of token pieces.

This is the "generate" step of the pipeline for chat. It produces a
:class:`Completion` whose text is already split into the token pieces a stream
will carry, so the streamed and the non-streamed answers to one request are the
same text with the same usage by construction.

What is generated, in order of precedence:

1. what the control plane scripted (an exact reply, given tool calls, a broken
   tool call);
2. tool calls, when ``tool_choice`` and the conversation call for one;
3. JSON for ``response_format``: a ``json_schema`` exactly; ``json_object``, or a prompt that asks for JSON,
   in the shape the messages describe (:mod:`mockserver.generation.prompted`);
4. seeded prose, spoken in character when a persona is set.

Reasoning models think first (``reasoning_content``), and their reasoning spends
the ``max_completion_tokens`` budget before the answer does.
"""

from __future__ import annotations

import base64
import random
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from mockserver.constructors import fast_constructor
from mockserver.control.decision import Script
from mockserver.determinism import Identity, rng
from mockserver.dialects.catalog import Character, ModelInfo
from mockserver.errors import ApiError, invalid_request
from mockserver.generation import media, prose
from mockserver.generation.jsongen import SchemaUnsupported
from mockserver.generation.jsongen import generate as generate_json
from mockserver.generation.prompted import described_json
from mockserver.generation.protocols import prescribed_answer
from mockserver.generation.reading import question_words, relevance
from mockserver.generation.tokens import Tokenizer
from mockserver.messages import last_user_text, tool_result_pending

REASONING_SENTENCES = {"none": 0, "minimal": 1, "low": 2, "medium": 4, "high": 7, "xhigh": 10}
AUDIO_WORDS_PER_SECOND = 2.5
AUDIO_TOKENS_PER_SECOND = 10
AUDIO_EXPIRY_SECONDS = 3600
MAX_PARALLEL_CALLS = 3


class PlannedCall(NamedTuple):
    """A tool call decided but not yet cut to the token budget: JSON arguments, or a custom tool's input."""

    name: str
    payload: str
    kind: str = "function"


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str
    argument_pieces: list[str]
    kind: str = "function"

    def as_object(self) -> dict[str, Any]:
        if self.kind == "custom":
            return {"id": self.id, "type": "custom", "custom": {"name": self.name, "input": self.arguments}}
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass
class Choice:
    index: int
    content: list[str] | None
    finish_reason: str
    reasoning: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    logprobs: list[dict[str, Any]] | None = None
    audio: dict[str, Any] | None = None
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    audio_tokens: int = 0

    @property
    def text(self) -> str | None:
        return None if self.content is None else "".join(self.content)


new_choice = fast_constructor(Choice)


@dataclass
class Completion:
    id: str
    created: int
    model: str
    fingerprint: str
    choices: list[Choice]
    prompt_tokens: int
    request_id: str

    @property
    def completion_tokens(self) -> int:
        return sum(choice.completion_tokens for choice in self.choices)

    @property
    def usage(self) -> dict[str, Any]:
        completion = self.completion_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": sum(choice.reasoning_tokens for choice in self.choices),
                "audio_tokens": sum(choice.audio_tokens for choice in self.choices),
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }


new_completion = fast_constructor(Completion)


@dataclass
class ChatSettings:
    """Server-wide generation settings (from the config)."""

    reply_sentences: tuple[int, int] = (2, 4)


class ChatGenerator:
    """Builds completions; one per app, shared by every request."""

    def __init__(self, identity: Identity, settings: ChatSettings) -> None:
        self.identity = identity
        self.settings = settings

    def complete(
        self,
        body: dict[str, Any],
        *,
        model: ModelInfo,
        tokenizer: Tokenizer,
        prompt_tokens: int,
        request_digest: bytes,
        script: Script | None = None,
        persona: Character | None = None,
        answered_model: str | None = None,
    ) -> Completion:
        """The completion of ``body``; it names ``answered_model`` (a dated snapshot) when given, else the model
        asked for."""
        salt = self.identity.salt(request_digest)
        messages = body["messages"]
        offered = body.get("tools") or ()
        tools = [tool for tool in offered if tool.get("type", "function") == "function"]
        custom_tools = [tool for tool in offered if tool.get("type") == "custom"]
        context = _new_choice_context(
            body=body,
            model=model,
            tokenizer=tokenizer,
            messages=messages,
            tools=tools,
            custom_tools=custom_tools,
            user_text=last_user_text(messages),
            budget=_budget(body),
            stops=_stop_list(body.get("stop")),
            script=script or Script(),
            persona=persona,
            salt=salt,
            created=self.identity.created(),
        )
        choices = [
            self._choice(context, index, rng(request_digest, f"choice{index}")) for index in range(body.get("n") or 1)
        ]
        return new_completion(
            id=Identity.make_id("chatcmpl-", salt),
            created=context.created,
            model=answered_model or body["model"],
            fingerprint=self.identity.fingerprint(body["model"]),
            choices=choices,
            prompt_tokens=prompt_tokens,
            request_id=Identity.request_id(salt),
        )

    def _choice(self, ctx: _ChoiceContext, index: int, generator: random.Random) -> Choice:
        budget = ctx.budget
        reasoning, reasoning_counts = self._reasoning(ctx, generator)
        reasoning_tokens = sum(reasoning_counts)
        if budget is not None and reasoning_tokens >= budget:
            kept, kept_tokens = _cut(reasoning, reasoning_counts, budget)
            return new_choice(
                index,
                content=[],
                finish_reason="length",
                reasoning=kept,
                completion_tokens=kept_tokens,
                reasoning_tokens=kept_tokens,
            )
        remaining = None if budget is None else budget - reasoning_tokens

        calls = self._tool_calls(ctx, index, generator)
        if calls is not None:
            return self._tool_choice(ctx, index, calls, reasoning, reasoning_tokens, remaining)

        pieces, counts = self._content(ctx, generator)
        finish = "stop"
        if ctx.stops:
            text = full = "".join(pieces)
            for stop in ctx.stops:
                position = text.find(stop)
                if position != -1:
                    text = text[:position]
            if text != full:
                pieces, counts = ctx.tokenizer.pieces(text)
        if remaining is not None and sum(counts) > remaining:
            pieces, _ = _cut(pieces, counts, remaining)
            finish = "length"
        content_tokens = sum(counts[: len(pieces)])
        choice = new_choice(
            index,
            content=pieces,
            finish_reason=finish,
            reasoning=reasoning,
            completion_tokens=content_tokens + reasoning_tokens,
            reasoning_tokens=reasoning_tokens,
        )
        if ctx.body.get("logprobs"):
            choice.logprobs = _logprobs(pieces, ctx.body.get("top_logprobs") or 0, generator)
        if "audio" in (ctx.body.get("modalities") or ()) and ctx.body.get("audio"):
            self._attach_audio(ctx, choice, index)
        return choice

    def _reasoning(self, ctx: _ChoiceContext, generator: random.Random) -> tuple[list[str], list[int]]:
        """The reasoning text's pieces and their token counts (empty for other models)."""
        if not ctx.model.reasoning:
            return [], []
        effort = ctx.body.get("reasoning_effort") or "medium"
        sentences = REASONING_SENTENCES.get(effort, REASONING_SENTENCES["medium"])
        if sentences == 0:
            return [], []
        topic = ctx.user_text.strip().split("\n", 1)[0][:80]
        if not topic:
            return prose.phrasebook(ctx.tokenizer).paragraph(generator, sentences)
        opening, opening_counts = ctx.tokenizer.pieces(f"The user asks: {topic!r}.")
        pieces, counts = prose.phrasebook(ctx.tokenizer).paragraph(generator, sentences, first=False)
        return opening + pieces, opening_counts + counts

    def _content(self, ctx: _ChoiceContext, generator: random.Random) -> tuple[list[str], list[int]]:
        """The answer's token pieces and the token count of each."""
        if ctx.script.reply is not None:
            return ctx.tokenizer.fixed_pieces(ctx.script.reply)
        response_format = ctx.body.get("response_format") or {}
        kind = response_format.get("type")
        if kind == "json_schema":
            schema = (response_format.get("json_schema") or {}).get("schema") or {"type": "object"}
            param = "response_format.json_schema.schema"
            protocol = prescribed_answer(ctx.messages, generator, json_mode=True, schema=schema)
            return ctx.tokenizer.pieces(protocol or self._json(schema, generator, ctx.user_text, param))
        protocol = prescribed_answer(ctx.messages, generator, json_mode=kind == "json_object")
        if protocol is not None:
            return ctx.tokenizer.pieces(protocol)
        prompted = described_json(ctx.messages, json_mode=kind == "json_object")
        if prompted is not None:
            return ctx.tokenizer.pieces(prompted.wrap(self._prompted_json(prompted.schema, generator, ctx.user_text)))
        low, high = self.settings.reply_sentences
        sentences = generator.randint(low, high)
        if ctx.persona is None:
            return prose.phrasebook(ctx.tokenizer).paragraph(generator, sentences)
        opener, opener_counts = ctx.tokenizer.pieces(generator.choice(ctx.persona.openers))
        pieces, counts = prose.phrasebook(ctx.tokenizer).paragraph(generator, sentences, first=False)
        return opener + pieces, opener_counts + counts

    @staticmethod
    def _json(schema: dict[str, Any], generator: random.Random, hint: str, param: str) -> str:
        try:
            value = generate_json(schema, generator, hint=hint)
        except SchemaUnsupported as error:
            raise invalid_request(
                f"Invalid schema for '{param}': {error}", param=param, code="invalid_json_schema"
            ) from None
        return orjson.dumps(value).decode()

    @staticmethod
    def _prompted_json(schema: dict[str, Any] | None, generator: random.Random, hint: str) -> str:
        """JSON of the shape the prompt described; with no shape described (or one the mock cannot build), ``{}``:
        any object satisfies a JSON mode that says nothing of its keys, and an invented one would be a guess."""
        if schema is not None:
            try:
                return orjson.dumps(generate_json(schema, generator, hint=hint)).decode()
            except (SchemaUnsupported, TypeError, ValueError):
                pass
        return "{}"

    def _tool_calls(self, ctx: _ChoiceContext, index: int, generator: random.Random) -> list[PlannedCall] | None:
        """The calls this choice makes, or None for a text answer."""
        script = ctx.script
        if script.broken_tool_call is not None:
            return [self._broken_call(ctx, script.broken_tool_call, generator)]
        if script.tool_calls is not None:
            return [self._scripted_call(ctx, call, generator) for call in script.tool_calls]
        if script.reply is not None or not (ctx.tools or ctx.custom_tools):
            return None
        choice = ctx.body.get("tool_choice", "auto")
        custom = self._custom_call(ctx, choice, generator)
        if custom is not None:
            return None if isinstance(custom, str) else [custom]
        allowed = ctx.tools
        if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
            spec = choice.get("allowed_tools") or {}
            names = {tool.get("function", {}).get("name") for tool in spec.get("tools") or ()}
            allowed = [tool for tool in ctx.tools if tool["function"]["name"] in names]
            choice = spec.get("mode", "auto")
        if isinstance(choice, dict):
            name = (choice.get("function") or {}).get("name")
            tool = next((tool for tool in ctx.tools if tool["function"]["name"] == name), None)
            if tool is None:
                raise _unknown_tool_choice("function", name)
            return [self._generated_call(ctx, tool, generator)]
        if choice == "none" or not allowed:
            return None
        pending = tool_result_pending(ctx.messages)
        if choice == "auto" and pending:
            return None
        working = [tool for tool in allowed if not is_output_tool(tool)]
        # Under "auto" a tool is called when the turn needs one: a tool the ask relates to, or an output tool
        # (the caller's structured answer) when only those are offered; "Say hello." gets text.
        chosen = _next_tools(allowed, ctx, generator) if pending else _relevant_tools(
            working or allowed, ctx.user_text, generator, needed=choice != "auto" or not working)
        if not chosen:
            return None
        if ctx.body.get("parallel_tool_calls") is False:
            chosen = chosen[:1]
        return [self._generated_call(ctx, tool, generator) for tool in chosen]

    def _custom_call(self, ctx: _ChoiceContext, choice: Any, generator: random.Random) -> PlannedCall | str | None:
        """A call to a custom (free-form input) tool, when the request forces one or offers only those.

        Returns ``"none"`` when custom tools alone are offered and no call is due.
        """
        named = isinstance(choice, dict) and choice.get("type") == "custom"
        if named:
            name = (choice.get("custom") or {}).get("name")
            tool = next((tool for tool in ctx.custom_tools if tool["custom"]["name"] == name), None)
            if tool is None:
                raise _unknown_tool_choice("custom tool", name)
        elif ctx.tools or not isinstance(choice, str):
            return None  # function tools decide (and name an unknown function in their 400)
        elif choice == "none" or (choice == "auto" and tool_result_pending(ctx.messages)):
            return "none"
        else:
            tool = generator.choice(ctx.custom_tools)
        return PlannedCall(tool["custom"]["name"], prose.sentence(generator), "custom")

    def _generated_call(self, ctx: _ChoiceContext, tool: dict[str, Any], generator: random.Random) -> PlannedCall:
        function = tool["function"]
        schema = function.get("parameters") or {"type": "object", "properties": {}}
        param = f"tools[{ctx.tools.index(tool)}].function.parameters"
        return PlannedCall(function["name"], self._json(schema, generator, ctx.user_text, param))

    def _scripted_call(self, ctx: _ChoiceContext, call: dict[str, Any], generator: random.Random) -> PlannedCall:
        name = call["name"]
        arguments = call.get("arguments")
        if arguments is None:
            tool = next((tool for tool in ctx.tools if tool["function"]["name"] == name), None)
            if tool is None:
                return PlannedCall(name, "{}")
            return self._generated_call(ctx, tool, generator)
        if isinstance(arguments, str):
            return PlannedCall(name, arguments)
        return PlannedCall(name, orjson.dumps(arguments).decode())

    def _broken_call(self, ctx: _ChoiceContext, kind: str, generator: random.Random) -> PlannedCall:
        if kind == "unknown_tool":
            known = {tool["function"]["name"] for tool in ctx.tools}
            candidates = ("lookup_record", "search_index", "fetch_data_v2")
            name = next(candidate for candidate in candidates if candidate not in known)
            return PlannedCall(name, '{"query": "' + prose.sentence(generator).rstrip(".") + '"}')
        name, arguments, _ = (
            self._generated_call(ctx, ctx.tools[0], generator)
            if ctx.tools
            else PlannedCall("get_data", '{"query": "data"}')
        )
        return PlannedCall(name, arguments[: max(1, len(arguments) // 2)])

    def _tool_choice(
        self,
        ctx: _ChoiceContext,
        index: int,
        calls: list[PlannedCall],
        reasoning: list[str],
        reasoning_tokens: int,
        remaining: int | None,
    ) -> Choice:
        finish = "tool_calls"
        spent = 0
        built: list[ToolCall] = []
        for position, call in enumerate(calls):
            pieces, counts = ctx.tokenizer.pieces(call.payload)
            cost = sum(counts) + ctx.tokenizer.count(call.name)
            if remaining is not None and spent + cost > remaining:
                pieces, used = _cut(pieces, counts, max(0, remaining - spent))
                spent += used
                finish = "length"
                if pieces or not built:
                    built.append(self._tool_call(ctx, index, position, call, pieces))
                break
            spent += cost
            built.append(self._tool_call(ctx, index, position, call, pieces))
        return new_choice(
            index,
            content=None,
            finish_reason=finish,
            reasoning=reasoning,
            tool_calls=built,
            completion_tokens=spent + reasoning_tokens,
            reasoning_tokens=reasoning_tokens,
        )

    @staticmethod
    def _tool_call(ctx: _ChoiceContext, index: int, position: int, call: PlannedCall, pieces: list[str]) -> ToolCall:
        call_id = Identity.make_id("call_", ctx.salt + f"{index}:{position}".encode(), 24)
        return ToolCall(call_id, call.name, "".join(pieces), pieces, call.kind)

    def _attach_audio(self, ctx: _ChoiceContext, choice: Choice, index: int) -> None:
        transcript = choice.text or ""
        audio_format = ctx.body["audio"].get("format", "wav")
        seconds = max(0.5, len(transcript.split()) / AUDIO_WORDS_PER_SECOND)
        # The sound is content: seeded by what is said and by whom, never by the per-response salt.
        voice = ctx.body["audio"].get("voice")
        clip = media.audio_clip(f"{voice}\n{index}\n{transcript}".encode(), audio_format, seconds, transcript)
        choice.audio = {
            "id": Identity.make_id("audio_", ctx.salt + index.to_bytes(4, "big"), 24),
            "data": base64.b64encode(clip).decode(),
            "expires_at": ctx.created + AUDIO_EXPIRY_SECONDS,
            "transcript": transcript,
        }
        choice.audio_tokens = int(seconds * AUDIO_TOKENS_PER_SECOND)
        choice.completion_tokens += choice.audio_tokens
        choice.content = None
        choice.logprobs = None


@dataclass
class _ChoiceContext:
    body: dict[str, Any]
    model: ModelInfo
    tokenizer: Tokenizer
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    custom_tools: list[dict[str, Any]]
    user_text: str
    budget: int | None
    stops: list[str]
    script: Script
    persona: Character | None
    salt: bytes
    created: int


_new_choice_context = fast_constructor(_ChoiceContext)


def _unknown_tool_choice(kind: str, name: Any) -> ApiError:
    return invalid_request(
        f"Invalid value for 'tool_choice': no {kind} named '{name}' was specified in the 'tools' parameter.",
        param="tool_choice",
        code="invalid_value",
    )


def _budget(body: dict[str, Any]) -> int | None:
    """The completion-token budget: ``max_completion_tokens``, else ``max_tokens``, else none."""
    for name in ("max_completion_tokens", "max_tokens"):
        if body.get(name) is not None:
            return int(body[name])
    return None


def _stop_list(stop: Any) -> list[str]:
    if not stop:
        return []
    return [stop] if isinstance(stop, str) else [item for item in stop if item]


def _cut(pieces: list[str], counts: list[int], budget: int) -> tuple[list[str], int]:
    """The longest prefix of pieces that fits in ``budget`` tokens, and its token count."""
    kept, used = [], 0
    for piece, count in zip(pieces, counts, strict=False):
        if used + count > budget:
            break
        kept.append(piece)
        used += count
    return kept, used


OUTPUT_TOOL = re.compile(r"(^|_)(final|result|respond|response|answer|output|submit|finish|done)(_|$)")
"""A tool whose name says it delivers the answer (pydantic-ai's ``final_result``, ``final_answer``, ``submit``…)."""


def is_output_tool(tool: dict[str, Any]) -> bool:
    return bool(OUTPUT_TOOL.search(str(tool["function"]["name"]).lower()))


def _next_tools(allowed: list[dict[str, Any]], ctx: _ChoiceContext, generator: random.Random) -> list[dict[str, Any]]:
    """The call a model makes when it must call a tool (``required``) and results are in: an output tool if there
    is one, else a tool not yet answered, else (every tool answered) the most relevant once more."""
    outputs = [tool for tool in allowed if is_output_tool(tool)]
    if outputs:
        return outputs[:1]
    answered = _answered_tools(ctx.messages)
    fresh = [tool for tool in allowed if tool["function"]["name"] not in answered]
    return _relevant_tools(fresh or allowed, ctx.user_text, generator)[:1]


def _answered_tools(messages: list[dict[str, Any]]) -> set[str]:
    """The names of the tools whose calls have a result in the conversation."""
    results = {message.get("tool_call_id") for message in messages if message.get("role") == "tool"}
    return {call.get("function", {}).get("name") for message in messages if message.get("role") == "assistant"
            for call in message.get("tool_calls") or [] if isinstance(call, dict) and call.get("id") in results}


def _relevant_tools(tools: list[dict[str, Any]], text: str, generator: random.Random, *,
                    needed: bool = True) -> list[dict[str, Any]]:
    """Tools whose name or description shares words with the user's message, best first.

    With no overlap at all, one tool chosen by the request's seed when a call is ``needed``, else none.
    """
    words = question_words(text)
    scored = []
    for position, tool in enumerate(tools):
        function = tool["function"]
        score = relevance(words, function["name"], str(function.get("description", "")))
        if score:
            scored.append((-score, position, tool))
    if not scored:
        return [generator.choice(tools)] if needed else []
    return [tool for _, _, tool in sorted(scored)[:MAX_PARALLEL_CALLS]]


def _logprobs(pieces: list[str], top: int, generator: random.Random) -> list[dict[str, Any]]:
    entries = []
    for piece in pieces:
        logprob = -round(abs(generator.gauss(0.0, 0.6)), 6)
        alternatives = [{"token": piece, "logprob": float(logprob), "bytes": list(piece.encode())}]
        floor = logprob
        for _ in range(max(0, top - 1)):
            floor -= round(abs(generator.gauss(1.5, 1.0)), 6) + 0.01
            word = " " + generator.choice(prose.words())
            alternatives.append({"token": word, "logprob": float(floor), "bytes": list(word.encode())})
        entries.append(
            {
                "token": piece, "logprob": float(logprob), "bytes": list(piece.encode()),
                "top_logprobs": alternatives[:top],
            }
        )
    return entries
