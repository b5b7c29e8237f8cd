"""Batches: ``validating`` → ``in_progress`` → ``finalizing`` → ``completed``, answering their input file.

At creation the input file is read and checked line by line (JSON, a unique ``custom_id``,
``method: POST``, the batch's ``url``, a ``body``). A file with a bad line fails the batch when it
leaves ``validating``, with an error naming each bad line, as the real API does. Otherwise, when
the batch reaches ``finalizing``, each line is sent to the mock's own endpoint at its ``url`` (the
same answer a direct request gets: chat, embeddings, completions, moderations, responses, images)
and the answers become the output file, one line per 2xx answer keyed by ``custom_id``, and the
error file, one line per 4xx/5xx answer; ``request_counts`` and ``usage`` add them up.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import orjson

from mockserver.determinism import Identity
from mockserver.endpoints.engine.lifecycle import Lifecycle, Progress, ask, cancelling
from mockserver.errors import invalid_request

MAX_LINES = 50_000
"""The real API's limit of requests per batch."""
STAMPS = ("in_progress_at", "finalizing_at", "completed_at", "failed_at", "cancelled_at", "cancelling_at",
          "expired_at")
FAILED_PATH = ["validating", "failed"]


async def begin(progress: Progress) -> None:
    request = progress.request
    batch = progress.resource
    file_id = str(batch.get("input_file_id"))
    resources = request.state.stores.resources
    known = resources.get("/files", file_id)
    content = resources.content(file_id)
    if known is None or content is None:
        if not request.state.checks.synthesize_missing:
            raise invalid_request(f"No file found with id '{file_id}'.", param="input_file_id", code="invalid_value")
        content = b""
    elif request.strict and known.get("purpose") != "batch":
        raise invalid_request(f"The input file must have purpose 'batch', not '{known.get('purpose')}'.",
                              param="input_file_id", code="invalid_value")
    lines, errors = read_lines(content, str(batch.get("endpoint")))
    progress.plan.update(lines=len(lines), errors=errors)
    for key in (*STAMPS, "output_file_id", "error_file_id", "errors", "usage"):
        batch.pop(key, None)
    batch["request_counts"] = {"total": len(lines), "completed": 0, "failed": 0}


def read_lines(content: bytes, endpoint: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The requests of a batch input file, and an error for each line that is not one."""
    lines: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in enumerate(content.splitlines(), 1):
        if not raw.strip():
            continue
        if len(lines) + len(errors) >= MAX_LINES:
            errors.append(_error("too_many_requests", f"A batch holds at most {MAX_LINES:,} requests.", number))
            break
        try:
            line = orjson.loads(raw)
        except orjson.JSONDecodeError:
            errors.append(_error("invalid_json_line", "This line is not parseable as valid JSON.", number))
            continue
        problem = _line_problem(line, endpoint, seen)
        if problem is not None:
            errors.append(_error(problem[0], problem[1], number, problem[2]))
            continue
        seen.add(line["custom_id"])
        lines.append(line)
    return lines, errors


def _line_problem(line: Any, endpoint: str, seen: set[str]) -> tuple[str, str, str | None] | None:
    if not isinstance(line, dict):
        return "invalid_request", "Each line must be a JSON object.", None
    if not isinstance(line.get("custom_id"), str):
        return "missing_required_parameter", "Missing required parameter: 'custom_id'.", "custom_id"
    if line["custom_id"] in seen:
        return "duplicate_custom_id", f"The custom_id '{line['custom_id']}' is used by more than one line.", "custom_id"
    if line.get("method") != "POST":
        return "invalid_method", "Only the POST method is supported for batch requests.", "method"
    if line.get("url") != endpoint:
        return ("mismatched_endpoint", f"The url '{line.get('url')}' does not match the batch's endpoint '{endpoint}'.",
                "url")
    if not isinstance(line.get("body"), dict):
        return "missing_required_parameter", "Missing required parameter: 'body'.", "body"
    return None


def _error(code: str, message: str, line: int, param: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": line}


async def reach(progress: Progress, status: str) -> None:
    batch, plan = progress.resource, progress.plan
    if status == "in_progress" and plan.get("errors"):
        progress.divert(FAILED_PATH)
        batch["failed_at"] = progress.at("failed")
        batch["errors"] = {"object": "list", "data": plan["errors"]}
    elif status == "in_progress":
        batch["in_progress_at"] = progress.at(status)
    elif status == "finalizing":
        batch["finalizing_at"] = progress.at(status)
        await _answer_lines(progress)
    elif status == "completed":
        batch["completed_at"] = progress.at(status)
        for key in ("output_file_id", "error_file_id", "usage"):
            if plan.get(key) is not None:
                batch[key] = plan[key]
        batch["request_counts"] = plan.get("request_counts", batch.get("request_counts"))


async def _answer_lines(progress: Progress) -> None:
    """Each line answered by the endpoint its ``url`` names, one at a time, into the output and error files.

    An answer is written into its file as the bytes it came as (never parsed and encoded again), and the two files
    together hold at most ``--store-bytes``: a line whose answer would not fit goes to the error file instead,
    ``batch_output_too_large``, so a batch of huge answers is bounded like any other store."""
    request, batch = progress.request, progress.resource
    resources = request.state.stores.resources
    content = resources.content(str(batch.get("input_file_id"))) or b""
    lines, _ = read_lines(content, str(batch.get("endpoint")))
    output, failed = bytearray(), bytearray()
    completed = 0
    room = request.state.config.store_bytes
    usage = {"input_tokens": 0, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 0,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 0}
    for index, line in enumerate(lines):
        answer = await ask(request, line["url"], line["body"])
        line_id = Identity.make_id("batch_req_", f"{batch['id']}:{index}".encode(), 24)
        body = answer.body if answer.body[:1] == b"{" else NOT_JSON
        entry = _entry(line_id, line["custom_id"], answer.status, answer.headers.get("x-request-id", ""), body)
        succeeded = 200 <= answer.status < 300 and body is not NOT_JSON
        if len(output) + len(failed) + len(entry) > room:
            entry = _entry(line_id, line["custom_id"], 500, answer.headers.get("x-request-id", ""),
                           _too_large(room))
            succeeded = False
        (output if succeeded else failed).extend(entry)
        completed += succeeded
        if succeeded:
            _add_usage(usage, _usage_of(answer.body))
        await anyio.lowlevel.checkpoint()  # thousands of lines: let the server answer others meanwhile
    plan = progress.plan
    plan["request_counts"] = {"total": len(lines), "completed": completed, "failed": len(lines) - completed}
    plan["usage"] = usage
    plan["output_file_id"] = _file(progress, "output", bytes(output)) if output else None
    plan["error_file_id"] = _file(progress, "error", bytes(failed)) if failed else None


NOT_JSON = orjson.dumps({"error": {"message": "The answer was not JSON (a streamed request?).",
                                   "type": "invalid_request_error", "param": "stream", "code": "unsupported_value"}})


def _too_large(room: int) -> bytes:
    return orjson.dumps({"error": {
        "message": f"This line's answer does not fit in the batch's output: its files may hold {room:,} bytes in all "
                   "(--store-bytes).", "type": "server_error", "param": None, "code": "batch_output_too_large"}})


def _entry(line_id: str, custom_id: str, status: int, request_id: str, body: bytes) -> bytes:
    """One line of an output or error file, the answer's bytes spliced in as they came."""
    head = orjson.dumps({"id": line_id, "custom_id": custom_id,
                         "response": {"status_code": status, "request_id": request_id, "body": None}, "error": None})
    before, _, after = head.rpartition(b'"body":null')
    return before + b'"body":' + body + after + b"\n"


def _usage_of(body: bytes) -> Any:
    """The ``usage`` object an answer ends with, read from its last few KiB (the mock writes it last), without
    parsing an answer that may hold megabytes of vectors."""
    tail = body[-USAGE_TAIL:]
    at = tail.rfind(b'"usage":')
    if at < 0:
        return None
    try:
        usage, _ = json.JSONDecoder().raw_decode(tail[at + 8 :].decode("utf-8", "replace"))
    except ValueError:
        return None
    return usage


USAGE_TAIL = 4096


def _add_usage(total: dict[str, Any], usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    given = usage.get("input_tokens", usage.get("prompt_tokens", 0))
    made = usage.get("output_tokens", usage.get("completion_tokens", 0))
    if isinstance(given, int) and isinstance(made, int):
        total["input_tokens"] += given
        total["output_tokens"] += made
        total["total_tokens"] += given + made
    details = usage.get("output_tokens_details") or usage.get("completion_tokens_details") or {}
    if isinstance(details, dict) and isinstance(details.get("reasoning_tokens"), int):
        total["output_tokens_details"]["reasoning_tokens"] += details["reasoning_tokens"]


def _file(progress: Progress, kind: str, data: bytes) -> str:
    """A ``batch_output`` file of ``data`` (its lines), kept with the uploaded files."""
    batch = progress.resource
    file_id = Identity.make_id("file-", f"{batch['id']}:{kind}".encode(), 22)
    resources = progress.state.stores.resources
    resources.put("/files", file_id, {
        "id": file_id, "object": "file", "bytes": len(data), "created_at": progress.state.identity.created(),
        "filename": f"{batch['id']}_{kind}.jsonl", "purpose": "batch_output", "status": "processed",
    })
    resources.put_content(file_id, data)
    return file_id


LIFECYCLE = Lifecycle("/batches", ("validating", "in_progress", "finalizing", "completed"), begin=begin,
                      reach=reach, actions={"cancel": cancelling()})
