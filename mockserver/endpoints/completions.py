"""``POST /completions``: legacy text completions, from the same generator and tokenizer as chat.

Each prompt (a string, strings, token ids or lists of them) is completed as a one-message chat
request, so replies, scripts, ``X-Mock-Reply``, stop sequences, seeds and token budgets behave as
in chat; the answer is OpenAI's ``text_completion``: ``max_tokens`` defaults to 16, ``echo`` puts
the prompt before the text (and its tokens into ``logprobs``; the first scored too, as the spec's schema
has it, where the live API sends ``null``), ``logprobs: k`` gives each token's
log probability, its offset in the text and the ``k`` likeliest tokens, ``best_of`` draws that
many candidates per prompt and returns the ``n`` likeliest (billing them all), and ``suffix`` is
accepted. Streamed, each choice's tokens are ``text_completion`` chunks, then ``[DONE]``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mockserver.asgi.outgoing import DONE_FRAME, FramesResponse, event_frame, json_response
from mockserver.determinism import rng
from mockserver.endpoints.engine.request import Responder, SpecRequest
from mockserver.errors import ApiError, invalid_request
from mockserver.generation.chat import Choice
from mockserver.generation.tokens import Tokenizer, encoding_for_model, tokenizer

DEFAULT_MAX_TOKENS = 16
MAX_CANDIDATES = 256
"""Prompts times ``best_of`` one request may ask to be drawn: each candidate is a chat completion."""
END_OF_TEXT = "<|endoftext|>"
SAMPLING = ("temperature", "top_p", "seed", "frequency_penalty", "presence_penalty", "logit_bias", "user")
"""Fields a completion passes to the chat generator as they are."""


async def create_completion(request: SpecRequest) -> Response:
    body = request.body
    state, call = request.state, request.call
    model = str(body.get("model"))
    info = state.models.resolve(call.dialect, model)
    if request.strict and info.kind == "chat" and call.dialect.catalog.get(model) is not None:
        raise ApiError(404, "This is a chat model and not supported in the v1/completions endpoint. Did you mean to "
                       "use v1/chat/completions?", param="model", code="model_not_supported")
    vocabulary = tokenizer(encoding_for_model(model))
    prompts = _prompts(body.get("prompt", END_OF_TEXT), vocabulary)
    n = _whole(body, "n", 1)
    best_of = _whole(body, "best_of", n)
    if best_of < n:
        raise invalid_request("best_of must be greater than or equal to n.", param="best_of", code="invalid_value")
    if len(prompts) * best_of > MAX_CANDIDATES:
        raise invalid_request(f"This request asks for {len(prompts) * best_of} completions ({len(prompts)} prompts "
                              f"times best_of {best_of}); the mock draws at most {MAX_CANDIDATES} per request.",
                              param="prompt", code="invalid_value")
    if body.get("stream") and best_of > n:
        raise invalid_request("Cannot stream results when best_of is greater than n.", param="best_of",
                              code="invalid_value")
    top = body.get("logprobs")
    max_tokens = body.get("max_tokens")
    choices: list[dict[str, Any]] = []
    prompt_tokens = completion_tokens = 0
    identity: tuple[str, int, str] | None = None
    for prompt in prompts:
        chat: dict[str, Any] = {key: body[key] for key in SAMPLING if body.get(key) is not None}
        chat.update(model=model, messages=[{"role": "user", "content": prompt}], n=best_of, logprobs=True,
                    top_logprobs=max(1, top or 0), max_tokens=DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens)
        if body.get("stop") is not None:
            chat["stop"] = body["stop"]
        completion = state.chat.complete(call.dialect, chat, request.decision)
        identity = identity or (completion.id.replace("chatcmpl-", "cmpl-", 1), completion.created,
                                completion.fingerprint)
        prompt_tokens += vocabulary.count(prompt)
        completion_tokens += sum(choice.completion_tokens for choice in completion.choices)
        best = sorted(completion.choices, key=_likelihood, reverse=True)[:n]
        for choice in sorted(best, key=lambda kept: kept.index):
            choices.append(_choice(choice, len(choices), prompt, vocabulary, body, top, request.seed))
    assert identity is not None
    completion_id, created, fingerprint = identity
    head = {"id": completion_id, "object": "text_completion", "created": created, "model": model,
            "system_fingerprint": fingerprint}
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens}
    if body.get("stream"):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return FramesResponse(_frames(head, choices, usage if include_usage else None))
    return json_response({**head, "choices": [choice["whole"] for choice in choices], "usage": usage})


def _whole(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key)
    return value if isinstance(value, int) and value >= 1 else default


def _prompts(prompt: Any, vocabulary: Tokenizer) -> list[str]:
    """The prompt as texts: a string, strings, one list of token ids, or lists of them."""
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt and all(isinstance(item, int) for item in prompt):
        return [_decode(prompt, vocabulary, "prompt")]
    if isinstance(prompt, list) and prompt:
        texts = []
        for index, item in enumerate(prompt):
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, list) and all(isinstance(token, int) for token in item):
                texts.append(_decode(item, vocabulary, f"prompt[{index}]"))
            else:
                raise invalid_request(f"Invalid type for 'prompt[{index}]': expected a string or a list of token ids.",
                                      param=f"prompt[{index}]", code="invalid_type")
        return texts
    raise invalid_request("Invalid 'prompt': expected a string, a list of strings, or token ids.", param="prompt",
                          code="invalid_value")


def _decode(tokens: list[int], vocabulary: Tokenizer, param: str) -> str:
    try:
        return vocabulary.decode(tokens)
    except IndexError:
        raise invalid_request(f"Invalid '{param}': a token id is outside the {vocabulary.name} vocabulary.",
                              param=param, code="invalid_value") from None


def _likelihood(choice: Choice) -> float:
    entries = choice.logprobs or []
    return sum(entry["logprob"] for entry in entries) / len(entries) if entries else 0.0


def _choice(choice: Choice, index: int, prompt: str, vocabulary: Tokenizer, body: dict[str, Any],
            top: int | None, seed: bytes) -> dict[str, Any]:
    """A choice as the whole answer shows it, and its stream: (text, logprobs) pieces."""
    entries: list[tuple[str, float, list[dict[str, Any]]]] = [
        (entry["token"], entry["logprob"], entry["top_logprobs"]) for entry in choice.logprobs or []]
    if body.get("echo"):  # the prompt's tokens as the model scores them
        echoed, _ = vocabulary.pieces(prompt)
        draw = rng(seed, f"echo{index}")
        scored = [(piece, -round(abs(draw.gauss(0.0, 2.5)), 6)) for piece in echoed]
        entries = [(piece, logprob, [{"token": piece, "logprob": logprob}]) for piece, logprob in scored] + entries
    texts = [token for token, _, _ in entries]
    offsets, position = [], 0 if body.get("echo") else len(prompt)
    for text in texts:
        offsets.append(position)
        position += len(text)
    pieces = []
    for (token, logprob, alternatives), offset in zip(entries, offsets, strict=True):
        piece_logprobs = None
        if top is not None:
            piece_logprobs = {"tokens": [token], "token_logprobs": [logprob], "text_offset": [offset],
                              "top_logprobs": [_top(alternatives, top)]}
        pieces.append((token, piece_logprobs))
    logprobs = None
    if top is not None:
        logprobs = {"tokens": texts, "token_logprobs": [logprob for _, logprob, _ in entries], "text_offset": offsets,
                    "top_logprobs": [_top(alternatives, top) for _, _, alternatives in entries]}
    whole = {"text": "".join(texts), "index": index, "logprobs": logprobs, "finish_reason": choice.finish_reason}
    return {"whole": whole, "pieces": pieces}


def _top(alternatives: list[dict[str, Any]], top: int) -> dict[str, float]:
    return {entry["token"]: entry["logprob"] for entry in alternatives[: max(top, 1)]}


def _frames(head: dict[str, Any], choices: list[dict[str, Any]], usage: dict[str, Any] | None) -> list[bytes]:
    frames = []
    for choice in choices:
        index = choice["whole"]["index"]
        for text, logprobs in choice["pieces"]:
            chunk = {**head, "choices": [{"text": text, "index": index, "logprobs": logprobs, "finish_reason": None}]}
            frames.append(event_frame(chunk, named=False))
        last = {"text": "", "index": index, "logprobs": None, "finish_reason": choice["whole"]["finish_reason"]}
        frames.append(event_frame({**head, "choices": [last]}, named=False))
    if usage is not None:
        frames.append(event_frame({**head, "choices": [], "usage": usage}, named=False))
    frames.append(DONE_FRAME)
    return frames


RESPONDERS: dict[str, Responder] = {"createCompletion": create_completion}
