"""Assistants threads, messages and runs: a run answers its thread with the chat generator.

A message keeps the content it was created with (a string becomes one text part), and a thread
created with ``messages`` holds them. A run goes ``queued`` → ``in_progress``, then, when its
tools (the run's, else its assistant's) include functions, to ``requires_action`` with the calls
the chat generator makes for the thread (arguments drawn from each function's parameter schema,
or what ``X-Mock-Tool-Call`` and scripts say); ``submit_tool_outputs`` takes it on through
``in_progress`` to ``completed``. A completed run has appended its reply to the thread as an
assistant message, with its usage, and its steps (``tool_calls``, ``message_creation``) are listed.
"""

from __future__ import annotations

from typing import Any

from mockserver.determinism import Identity
from mockserver.endpoints.engine.lifecycle import Lifecycle, Progress, born, cancelling
from mockserver.errors import invalid_request

DEFAULT_MODEL = "gpt-4o"
TEXT_PATH = ["queued", "in_progress", "completed"]
TOOL_PATH = ["queued", "in_progress", "requires_action"]
AFTER_TOOLS_PATH = ["in_progress", "completed"]
RUN_STAMPS = ("started_at", "completed_at", "cancelled_at", "failed_at")


# --- messages and threads ----------------------------------------------------------------------------------


def content_parts(content: Any) -> list[dict[str, Any]]:
    """A message's content as the API returns it: a string is one text part; request parts are kept."""
    if isinstance(content, str):
        return [{"type": "text", "text": {"value": content, "annotations": []}}]
    parts = []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, dict) and part.get("type") == "text":
            parts.append({"type": "text", "text": {"value": str(part.get("text", "")), "annotations": []}})
        elif isinstance(part, dict) and part.get("type") in ("image_file", "image_url"):
            parts.append(part)
    return parts


def message_object(thread_id: str, message_id: str, created_at: int, role: str, content: Any,
                   run_id: str | None = None, assistant_id: str | None = None) -> dict[str, Any]:
    return {"id": message_id, "object": "thread.message", "created_at": created_at, "thread_id": thread_id,
            "status": "completed", "incomplete_details": None, "completed_at": created_at, "incomplete_at": None,
            "role": role, "content": content_parts(content), "assistant_id": assistant_id, "run_id": run_id,
            "attachments": [], "metadata": {}}


def add_messages(progress: Progress, thread_id: str, messages: Any) -> None:
    """Messages given with a thread (or a run's ``additional_messages``) appended to the thread."""
    for index, message in enumerate(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict):
            continue
        message_id = Identity.make_id("msg_", f"{thread_id}:{progress.resource['id']}:{index}".encode(), 24)
        made = message_object(thread_id, message_id, progress.state.identity.created(),
                              str(message.get("role", "user")), message.get("content", ""))
        if isinstance(message.get("metadata"), dict):
            made["metadata"] = message["metadata"]
        progress.state.stores.resources.put(f"/threads/{thread_id}/messages", message_id, made)


async def begin_message(progress: Progress) -> None:
    body, message = progress.request.body, progress.resource
    message.update(role=str(body.get("role", "user")), content=content_parts(body.get("content", "")),
                   status="completed", completed_at=message.get("created_at"), incomplete_at=None,
                   incomplete_details=None, run_id=None, assistant_id=None,
                   attachments=body.get("attachments") if isinstance(body.get("attachments"), list) else [])


async def begin_thread(progress: Progress) -> None:
    add_messages(progress, progress.resource["id"], progress.request.body.get("messages"))


# --- runs ----------------------------------------------------------------------------------------------------


async def begin_run(progress: Progress) -> None:
    run, body, state = progress.resource, progress.request.body, progress.state
    thread_id = str(run.get("thread_id") or progress.request.params.get("thread_id"))
    assistant = state.stores.resources.get("/assistants", str(body.get("assistant_id"))) or {}
    tools: list[Any] = body["tools"] if isinstance(body.get("tools"), list) else assistant.get("tools") or []
    instructions = str(body["instructions"] if isinstance(body.get("instructions"), str)
                       else assistant.get("instructions") or "")
    if isinstance(body.get("additional_instructions"), str):
        instructions = (instructions + "\n" + body["additional_instructions"]).strip()
    run.update(thread_id=thread_id, assistant_id=str(body.get("assistant_id", run.get("assistant_id"))),
               model=str(body.get("model") or assistant.get("model") or DEFAULT_MODEL), instructions=instructions,
               tools=tools, required_action=None, last_error=None, usage=None, incomplete_details=None,
               **dict.fromkeys(RUN_STAMPS))
    add_messages(progress, thread_id, body.get("additional_messages"))
    functions = [tool for tool in tools if isinstance(tool, dict) and tool.get("type") == "function"]
    chat = _chat_body(progress, thread_id, functions)
    completion = state.chat.complete(progress.request.call.dialect, chat, progress.request.decision)
    choice = completion.choices[0]
    if choice.tool_calls:
        progress.plan["tool_calls"] = [call.as_object() for call in choice.tool_calls]
        progress.life["path"] = list(TOOL_PATH)
    else:
        progress.plan["reply"] = choice.text or ""
        progress.life["path"] = list(TEXT_PATH)
    progress.plan["usage"] = _usage(completion)


def _chat_body(progress: Progress, thread_id: str, functions: list[dict[str, Any]],
               tool_turn: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The chat request a run stands for: its instructions, the thread's messages, its function tools."""
    run = progress.resource
    messages: list[dict[str, Any]] = [{"role": "system", "content": run["instructions"]}] if run["instructions"] else []
    for message in progress.state.stores.resources.items(f"/threads/{thread_id}/messages"):
        text = " ".join(part["text"]["value"] for part in message.get("content", [])
                        if isinstance(part, dict) and part.get("type") == "text")
        messages.append({"role": message.get("role", "user"), "content": text})
    messages += tool_turn or []
    chat: dict[str, Any] = {"model": run["model"], "messages": messages}
    if functions:
        chat["tools"] = [{"type": "function", "function": tool["function"]} for tool in functions]
        if isinstance(run.get("parallel_tool_calls"), bool):
            chat["parallel_tool_calls"] = run["parallel_tool_calls"]
    for key in ("temperature", "top_p"):
        if isinstance(progress.request.body.get(key), (int, float)):
            chat[key] = progress.request.body[key]
    return chat


def _usage(completion: Any) -> dict[str, int]:
    usage = completion.usage
    return {key: usage[key] for key in ("prompt_tokens", "completion_tokens", "total_tokens")}


async def reach_run(progress: Progress, status: str) -> None:
    run, plan = progress.resource, progress.plan
    if status == "in_progress" and run.get("started_at") is None:
        run["started_at"] = progress.at(status)
    elif status == "requires_action":
        run["required_action"] = {"type": "submit_tool_outputs",
                                  "submit_tool_outputs": {"tool_calls": plan["tool_calls"]}}
        _step(progress, "tool_calls", status, "in_progress")
    elif status == "completed":
        run.update(completed_at=progress.at(status), required_action=None, usage=plan.get("usage"))
        message_id = Identity.make_id("msg_", f"{run['id']}:reply".encode(), 24)
        reply = message_object(run["thread_id"], message_id, progress.at(status), "assistant", plan.get("reply", ""),
                               run_id=run["id"], assistant_id=run.get("assistant_id"))
        progress.state.stores.resources.put(f"/threads/{run['thread_id']}/messages", message_id, reply)
        if plan.get("tool_calls"):
            _step(progress, "tool_calls", status, "completed")
        _step(progress, "message_creation", status, "completed", message_id)


def _step(progress: Progress, kind: str, status: str, step_status: str, message_id: str | None = None) -> None:
    run, plan = progress.resource, progress.plan
    step_id = Identity.make_id("step_", f"{run['id']}:{kind}".encode(), 24)
    if kind == "tool_calls":
        outputs = plan.get("outputs", {})
        details: dict[str, Any] = {"type": "tool_calls", "tool_calls": [
            {"id": call["id"], "type": "function", "function": {**call["function"], "output": outputs.get(call["id"])}}
            for call in plan["tool_calls"]]}
    else:
        details = {"type": "message_creation", "message_creation": {"message_id": message_id}}
    done = step_status == "completed"
    step = {"id": step_id, "object": "thread.run.step", "created_at": progress.at(status),
            "assistant_id": run.get("assistant_id"), "thread_id": run["thread_id"], "run_id": run["id"], "type": kind,
            "status": step_status, "step_details": details, "last_error": None, "expired_at": None,
            "cancelled_at": None, "failed_at": None, "completed_at": progress.at(status) if done else None,
            "metadata": {}, "usage": plan.get("usage") if done else None}
    progress.state.stores.resources.put(f"/threads/{run['thread_id']}/runs/{run['id']}/steps", step_id, step)


async def submit_tool_outputs(progress: Progress) -> None:
    """The outputs of the calls the run asked for: the run goes on, and replies with them in mind."""
    run, plan, body = progress.resource, progress.plan, progress.request.body
    if run.get("status") != "requires_action":
        raise invalid_request(f'Runs in status "{run.get("status")}" do not accept tool outputs.',
                              param="tool_outputs", code="invalid_state")
    outputs = {str(item.get("tool_call_id")): str(item.get("output", "")) for item in body.get("tool_outputs") or []
               if isinstance(item, dict)}
    expected = [call["id"] for call in plan["tool_calls"]]
    missing = [call_id for call_id in expected if call_id not in outputs]
    if missing:
        raise invalid_request(f"Expected tool outputs for call_ids {expected}, got {sorted(outputs)}.",
                              param="tool_outputs", code="invalid_value")
    plan["outputs"] = outputs
    turn: list[dict[str, Any]] = [{"role": "assistant", "content": None, "tool_calls": plan["tool_calls"]}]
    turn += [{"role": "tool", "tool_call_id": call_id, "content": outputs[call_id]} for call_id in expected]
    functions = [tool for tool in run.get("tools") or [] if isinstance(tool, dict) and tool.get("type") == "function"]
    chat = _chat_body(progress, run["thread_id"], functions, turn)
    completion = progress.state.chat.complete(progress.request.call.dialect, chat, progress.request.decision)
    plan["reply"] = completion.choices[0].text or ""
    first = plan.get("usage") or {}
    plan["usage"] = {key: int(first.get(key, 0)) + value for key, value in _usage(completion).items()}
    run["required_action"] = None
    progress.restart(list(AFTER_TOOLS_PATH))


async def begin_thread_and_run(progress: Progress) -> None:
    """``POST /threads/runs``: a new thread with the request's ``thread.messages``, and the run on it."""
    run, state = progress.resource, progress.state
    body = progress.request.body
    given: dict[str, Any] = body["thread"] if isinstance(body.get("thread"), dict) else {}
    thread_id = Identity.make_id("thread_", f"{run['id']}:thread".encode(), 24)
    state.stores.resources.put("/threads", thread_id, {
        "id": thread_id, "object": "thread", "created_at": run.get("created_at"),
        "metadata": given.get("metadata") or {}, "tool_resources": given.get("tool_resources")})
    add_messages(progress, thread_id, given.get("messages"))
    run["thread_id"] = thread_id
    nested = Progress(progress.request, f"/threads/{thread_id}/runs", run, progress.life)
    await begin_run(nested)
    born(state, nested.collection, run, progress.life["path"], plan=progress.plan)


LIFECYCLES = (
    Lifecycle("/threads", (), begin=begin_thread),
    Lifecycle("/threads/{thread_id}/messages", (), begin=begin_message),
    Lifecycle("/threads/{thread_id}/runs", tuple(TEXT_PATH), begin=begin_run, reach=reach_run,
              actions={"cancel": cancelling(), "submit_tool_outputs": submit_tool_outputs}),
    Lifecycle("/threads/runs", (), begin=begin_thread_and_run),
)
