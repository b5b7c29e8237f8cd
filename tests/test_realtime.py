"""The Realtime API over a real WebSocket: openai-python's ``client.realtime.connect()`` against the mock, every
server event checked against the spec's ``RealtimeServerEvent``, and the session as one journal entry."""

from __future__ import annotations

import base64
import json
import struct
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from openai import DefaultHttpxClient, OpenAI
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from mockserver import MockServer
from mockserver.conformance import validate_official
from mockserver.generation import g711

from helpers import module_server, reset_server, self_signed

server = module_server(seed=7)
mock = reset_server
HELLO = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello there"}]}
WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.fixture()
def client(mock: MockServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=mock.url, api_key="sk-test") as made:  # closed: no socket left for a later test's GC
        yield made


def until(connection: Any, last: str) -> list[Any]:
    """The server's events up to and including the first ``last``, each checked against the spec."""
    seen = []
    for event in connection:
        validate_official("RealtimeServerEvent", event.model_dump(mode="json", exclude_unset=True))
        seen.append(event)
        if event.type == last:
            return seen
    raise AssertionError(f"the session ended before {last}")


def raw(mock: MockServer, path: str = "/v1/realtime?model=gpt-realtime", **headers: str) -> Any:
    # max_queue=None: a test that stops reading mid-response must still see the close frame behind the rest
    return connect(mock.origin.replace("http", "ws", 1) + path, max_queue=None,
                   additional_headers={"Authorization": "Bearer sk-test", **headers}, open_timeout=5)


def spoken_reply(connection: Any) -> tuple[list[Any], bytes, str]:
    """The events of an audio reply to a greeting, its audio (decoded) and its transcript."""
    connection.conversation.item.create(item=HELLO)
    until(connection, "conversation.item.done")
    connection.response.create()
    reply = until(connection, "response.done")
    spoken = b"".join(base64.b64decode(event.delta) for event in reply if event.type == "response.output_audio.delta")
    said = next(event.transcript for event in reply if event.type == "response.output_audio_transcript.done")
    return reply, spoken, said


def received(socket: Any) -> dict[str, Any]:
    event = json.loads(socket.recv(timeout=5))
    validate_official("RealtimeServerEvent", event)
    return event


def test_a_text_turn_sends_the_ga_events_in_order(mock: MockServer, client: OpenAI) -> None:
    with client.realtime.connect(model="gpt-realtime") as connection:
        created = until(connection, "session.created")[0]
        assert created.session.model == "gpt-realtime" and created.session.output_modalities == ["audio"]
        connection.session.update(session={"type": "realtime", "output_modalities": ["text"],
                                           "instructions": "Be brief"})
        assert until(connection, "session.updated")[0].session.instructions == "Be brief"
        connection.conversation.item.create(item=HELLO)
        added, done = until(connection, "conversation.item.done")
        assert added.type == "conversation.item.added" and done.item.content[0].text == "Hello there"
        connection.response.create()
        turn = until(connection, "response.done")
    kinds = [event.type for event in turn]
    assert kinds[:4] == ["response.created", "response.output_item.added", "conversation.item.added",
                         "response.content_part.added"]
    assert kinds[-5:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "conversation.item.done", "response.done"]
    text = "".join(event.delta for event in turn if event.type == "response.output_text.delta")
    done = turn[-1].response
    assert text and done.status == "completed" and done.output[0].content[0].text == text
    assert done.usage.input_tokens and done.usage.output_tokens == done.usage.output_token_details.text_tokens
    assert len({event.event_id for event in turn}) == len(turn)
    session = mock.wait_for_requests(1)[-1]  # journaled once the server has closed its side
    assert session.path == "/v1/realtime" and session.status == 101 and session.ended == "complete"
    assert session.dialect == "openai" and session.endpoint == "realtime" and session.tokens_out
    assert session.model == "gpt-realtime"
    assert [event["type"] for event in session.body["events"]] == ["session.update", "conversation.item.create",
                                                                   "response.create"]


def test_a_function_call_round_trip_ends_in_text(client: OpenAI) -> None:
    with client.realtime.connect(model="gpt-realtime") as connection:
        connection.session.update(session={"type": "realtime", "output_modalities": ["text"], "tools": [WEATHER],
                                           "tool_choice": "required"})
        until(connection, "session.updated")
        connection.conversation.item.create(item={**HELLO, "content": [
            {"type": "input_text", "text": "What is the weather in Paris?"}]})
        connection.response.create()
        called = until(connection, "response.done")
        done = next(event for event in called if event.type == "response.function_call_arguments.done")
        assert done.name == "get_weather" and isinstance(json.loads(done.arguments)["city"], str)
        deltas = "".join(event.delta for event in called if event.type == "response.function_call_arguments.delta")
        assert deltas == done.arguments
        connection.conversation.item.create(item={"type": "function_call_output", "call_id": done.call_id,
                                                  "output": json.dumps({"forecast": "sunny"})})
        until(connection, "conversation.item.done")
        connection.session.update(session={"type": "realtime", "tool_choice": "auto"})
        until(connection, "session.updated")
        connection.response.create()
        answered = until(connection, "response.done")
    assert answered[-1].response.output[0].type == "message"


def test_an_audio_turn_speaks_its_transcript_and_commits_input_audio(client: OpenAI) -> None:
    with client.realtime.connect(model="gpt-realtime") as connection:
        until(connection, "session.created")
        half_second = base64.b64encode(b"\x00\x01" * 12_000).decode()
        connection.input_audio_buffer.append(audio=half_second)
        connection.input_audio_buffer.commit()
        committed = until(connection, "conversation.item.done")
        assert committed[0].type == "input_audio_buffer.committed"
        assert committed[-1].item.content[0].type == "input_audio"
        connection.response.create()
        turn = until(connection, "response.done")
    audio = b"".join(base64.b64decode(event.delta) for event in turn if event.type == "response.output_audio.delta")
    transcript = "".join(event.delta for event in turn if event.type == "response.output_audio_transcript.delta")
    done = next(event for event in turn if event.type == "response.output_audio_transcript.done")
    assert transcript == done.transcript and len(audio) % 2 == 0
    words = len(transcript.split())
    assert len(audio) == round(words * 0.3 * 24_000) * 2  # pcm16 at 24 kHz, 0.3 s a word
    assert turn[-1].response.usage.output_token_details.audio_tokens == round(words * 0.3 * 10)


def test_bad_events_get_an_error_naming_them_and_the_session_goes_on(mock: MockServer) -> None:
    with raw(mock) as socket:
        assert received(socket)["type"] == "session.created"
        for sent, param, code in [
            ("not json", None, "invalid_json"),
            (json.dumps({"type": "response.dance", "event_id": "e1"}), "type", "invalid_value"),
            (json.dumps({"type": "conversation.item.retrieve", "item_id": "item_nope", "event_id": "e2"}),
             "item_id", "item_not_found"),
            (json.dumps({"type": "session.update", "session": {"type": "realtime", "colour": "red"}}),
             "session.colour", "unknown_parameter"),
            (json.dumps({"type": "conversation.item.create", "item": {"type": "message", "role": "robot",
                                                                      "content": []}}), "item.role", "invalid_value"),
            (json.dumps({"type": "input_audio_buffer.commit"}), None, "input_audio_buffer_commit_empty"),
            (json.dumps({"type": "response.cancel", "event_id": "e3"}), None, "response_cancel_not_active"),
        ]:
            socket.send(sent)
            error = received(socket)
            assert error["type"] == "error", (sent, error)
            assert error["error"]["param"] == param and error["error"]["code"] == code, (sent, error)
            if sent.startswith("{") and "event_id" in json.loads(sent):
                assert error["error"]["event_id"] == json.loads(sent)["event_id"]
        socket.send(json.dumps({"type": "conversation.item.create", "item": HELLO}))
        assert received(socket)["type"] == "conversation.item.added"


def test_the_conversation_items_are_kept_retrieved_deleted_and_out_of_band_responses_stay_out(
        mock: MockServer) -> None:
    with raw(mock) as socket:
        received(socket)
        socket.send(json.dumps({"type": "session.update", "session": {"type": "realtime",
                                                                      "output_modalities": ["text"]}}))
        received(socket)
        socket.send(json.dumps({"type": "conversation.item.create", "item": {**HELLO, "id": "item_mine"}}))
        assert received(socket)["item"]["id"] == "item_mine"
        received(socket)
        socket.send(json.dumps({"type": "response.create", "response": {"conversation": "none",
                                                                         "metadata": {"topic": "side"}}}))
        side = []
        while not side or side[-1]["type"] != "response.done":
            side.append(received(socket))
        assert "conversation.item.added" not in [event["type"] for event in side]
        assert "conversation_id" not in side[-1]["response"] and side[-1]["response"]["metadata"] == {
            "topic": "side"}
        assert received(socket)["type"] == "rate_limits.updated"
        side_item = side[-1]["response"]["output"][0]["id"]
        socket.send(json.dumps({"type": "conversation.item.retrieve", "item_id": side_item}))
        assert received(socket)["error"]["code"] == "item_not_found"
        socket.send(json.dumps({"type": "conversation.item.retrieve", "item_id": "item_mine"}))
        assert received(socket)["item"]["content"][0]["text"] == "Hello there"
        socket.send(json.dumps({"type": "conversation.item.delete", "item_id": "item_mine"}))
        deleted = received(socket)
        assert deleted["type"] == "conversation.item.deleted" and deleted["item_id"] == "item_mine"


def test_a_key_is_required_and_a_browser_may_send_it_as_a_subprotocol(mock: MockServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(mock.origin.replace("http", "ws", 1) + "/v1/realtime?model=gpt-realtime", open_timeout=5)
    assert refused.value.response.status_code == 403
    with connect(mock.origin.replace("http", "ws", 1) + "/v1/realtime?model=gpt-realtime", open_timeout=5,
                 subprotocols=["realtime", "openai-insecure-api-key.sk-browser"]) as socket:  # type: ignore[list-item]
        assert socket.subprotocol == "realtime" and received(socket)["type"] == "session.created"
    with pytest.raises(InvalidStatus):
        connect(mock.origin.replace("http", "ws", 1) + "/v1/nowhere", open_timeout=5,
                additional_headers={"Authorization": "Bearer sk-test"})
    with pytest.raises(InvalidStatus) as foreign:  # a page of another origin, as for any request to the mock
        connect(mock.origin.replace("http", "ws", 1) + "/v1/realtime", open_timeout=5, origin="http://evil.example",  # type: ignore[arg-type]
                additional_headers={"Authorization": "Bearer sk-test"})
    assert foreign.value.response.status_code == 403
    refused_entries = [entry for entry in mock.wait_for_requests(4) if entry.status == 403]
    assert len(refused_entries) == 3 and all(entry.ended == "refused" for entry in refused_entries)


def test_scripts_answer_a_turn(mock: MockServer, client: OpenAI) -> None:
    mock.reply("Scripted over the socket")
    with client.realtime.connect(model="gpt-realtime") as connection:
        connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        connection.conversation.item.create(item=HELLO)
        connection.response.create()
        turn = until(connection, "response.done")
    assert turn[-1].response.output[0].content[0].text == "Scripted over the socket"
    assert mock.wait_for_requests(1)[-1].decided_by.startswith("script")


def test_same_seed_same_events() -> None:
    sessions = []
    for _ in range(2):
        with MockServer(seed=3, freeze_time=True) as fresh, raw(fresh) as socket:
            sent = [received(socket)]
            socket.send(json.dumps({"type": "conversation.item.create", "item": HELLO}))
            socket.send(json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}}))
            while sent[-1]["type"] != "response.done":
                sent.append(received(socket))
            sessions.append(sent)
    assert sessions[0] == sessions[1]


def turn_of(socket: Any) -> list[dict[str, Any]]:
    """Ask for a text response and read its events until response.done (or an error event ends it)."""
    socket.send(json.dumps({"type": "conversation.item.create", "item": HELLO}))
    received(socket), received(socket)
    socket.send(json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}}))
    seen = [received(socket)]
    while seen[-1]["type"] not in ("response.done", "error"):
        seen.append(received(socket))
    return seen


def test_faults_act_on_a_response_s_events(mock: MockServer) -> None:
    with raw(mock, **{"X-Mock-Fault": "error_event;after_chunks=3;message=Boom"}) as socket:
        received(socket)
        seen = turn_of(socket)
        assert len(seen) == 4 and seen[-1]["type"] == "error" and seen[-1]["error"]["message"] == "Boom"
        socket.send(json.dumps({"type": "conversation.item.retrieve", "item_id": "item_nope"}))
        assert received(socket)["type"] == "error"  # the session goes on
    with raw(mock, **{"X-Mock-Fault": "disconnect;after_chunks=2;close_code=1013"}) as socket:
        received(socket)
        socket.send(json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}}))
        received(socket), received(socket)
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    with raw(mock, **{"X-Mock-Fault": "stall;after_chunks=1;seconds=0.5"}) as socket:
        received(socket)
        started = time.monotonic()
        socket.send(json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}}))
        assert received(socket)["type"] == "response.created"
        received(socket)
        assert time.monotonic() - started >= 0.5
    with raw(mock, **{"X-Mock-Fault": "malformed;after_chunks=2"}) as socket:
        received(socket)
        socket.send(json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}}))
        received(socket), received(socket)
        with pytest.raises(json.JSONDecodeError):
            json.loads(socket.recv(timeout=5))
    with raw(mock, **{"X-Mock-Fault": "rate_limit"}) as socket:
        received(socket)
        socket.send(json.dumps({"type": "response.create", "event_id": "ask"}))
        limited = received(socket)
        assert limited["error"]["code"] == "rate_limit_exceeded" and limited["error"]["event_id"] == "ask"


def test_the_turn_detector_hears_the_mock_s_own_speech_and_answers_it(client: OpenAI) -> None:
    """A reply's audio sent back, then half a second of silence: server VAD starts and stops the speech from the
    audio's energy, commits it, transcribes it exactly (the mock's speech carries its words) and answers it."""
    with client.realtime.connect(model="gpt-realtime") as connection:
        connection.session.update(session={"type": "realtime", "audio": {"input": {
            "transcription": {"model": "gpt-4o-transcribe"}}}})
        until(connection, "session.updated")
        _, spoken, said = spoken_reply(connection)
        until(connection, "rate_limits.updated")
        for start in range(0, len(spoken), 4_800):
            connection.input_audio_buffer.append(audio=base64.b64encode(spoken[start:start + 4_800]).decode())
        connection.input_audio_buffer.append(audio=base64.b64encode(b"\x00" * 24_000).decode())
        heard = until(connection, "response.done")
    kinds = [event.type for event in heard]
    assert kinds[:4] == ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                         "input_audio_buffer.committed", "conversation.item.added"]
    started, stopped = heard[0], heard[1]
    assert started.item_id == stopped.item_id and 0 <= started.audio_start_ms < stopped.audio_end_ms
    assert abs(stopped.audio_end_ms - started.audio_start_ms - len(spoken) * 1000 // 48_000) <= 400
    completed = next(event for event in heard
                     if event.type == "conversation.item.input_audio_transcription.completed")
    assert completed.transcript == said and completed.item_id == started.item_id
    assert "response.created" in kinds and heard[-1].response.status == "completed"


def test_openai_agents_realtime_runner_calls_a_tool_and_answers(mock: MockServer) -> None:
    """openai-agents' ``RealtimeRunner`` (its default OpenAI Realtime model, pointed at the mock): the agent's
    function tool is called with arguments for its signature, its output goes back, and the agent answers."""
    import asyncio

    from agents import function_tool
    from agents.realtime import RealtimeAgent, RealtimeRunner

    called: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        called.append(city)
        return f"Sunny in {city}"

    async def run() -> list[Any]:
        agent = RealtimeAgent(name="Assistant", instructions="Answer briefly", tools=[get_weather])
        runner = RealtimeRunner(starting_agent=agent, config={"model_settings": {"output_modalities": ["text"]}})
        session = await runner.run(model_config={
            "api_key": "sk-test", "url": mock.origin.replace("http", "ws", 1) + "/v1/realtime?model=gpt-realtime"})
        seen: list[Any] = []
        async with session:
            await session.send_message("What is the weather in Paris?")
            async for event in session:
                seen.append(event)
                assert event.type != "error", event
                if event.type == "agent_end" and any(earlier.type == "tool_end" for earlier in seen):
                    return seen
        return seen

    seen = asyncio.run(asyncio.wait_for(run(), 20))
    assert called and isinstance(called[0], str)
    assert next(event.output for event in seen if event.type == "tool_end") == f"Sunny in {called[0]}"
    session = mock.wait_for_requests(1)[-1]
    sent = [event["type"] for event in session.body["events"]]
    assert "conversation.item.create" in sent and sent.count("response.create") >= 2


def test_a_flood_of_client_events_is_bounded_and_the_session_goes_on(mock: MockServer) -> None:
    """3,000 events in well under a second: one error for the excess, the rest of that second dropped, and the
    session (and the server's health check) answer right after."""
    with raw(mock) as socket:
        received(socket)
        tiny = json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(b"\0\0").decode()})
        for _ in range(3_000):
            socket.send(tiny)
        error = received(socket)
        assert error["type"] == "error" and error["error"]["code"] == "too_many_events"
        assert httpx2.get(mock.origin + "/_mock/health", timeout=5).status_code == 200
        time.sleep(1.05)  # a new second
        socket.send(json.dumps({"type": "input_audio_buffer.clear"}))
        assert received(socket)["type"] == "input_audio_buffer.cleared"


def test_plain_http_to_the_socket_is_told_to_upgrade(mock: MockServer) -> None:
    answer = httpx2.get(mock.url + "/realtime", headers={"Authorization": "Bearer sk-test"}, timeout=5)
    assert answer.status_code == 426 and answer.headers["upgrade"] == "websocket"
    assert answer.json()["error"]["code"] == "upgrade_required"


def test_an_ephemeral_secret_opens_a_browser_session_until_it_expires() -> None:
    """``client_secrets`` mints an ``ek_`` key with its session; a browser opens a session with it (as the
    subprotocol) even when the mock takes only its own --api-key keys, the session starts from the secret's
    settings, and once the secret expires on the mock's clock the handshake is refused."""
    with MockServer(api_key=["sk-real"]) as locked:
        with OpenAI(base_url=locked.url, api_key="sk-real") as issuer:
            minted = issuer.realtime.client_secrets.create(
                expires_after={"anchor": "created_at", "seconds": 60},
                session={"type": "realtime", "model": "gpt-realtime", "instructions": "Speak like a pirate"})
        assert minted.value.startswith("ek_") and minted.session.instructions == "Speak like a pirate"
        url = locked.origin.replace("http", "ws", 1) + "/v1/realtime"
        with connect(url, open_timeout=5, subprotocols=["realtime", f"openai-insecure-api-key.{minted.value}"],  # type: ignore[list-item]
                     ) as socket:
            created = received(socket)
        assert created["session"]["instructions"] == "Speak like a pirate"
        assert created["session"]["model"] == "gpt-realtime"
        with pytest.raises(InvalidStatus):  # any other key is still refused
            connect(url, open_timeout=5, additional_headers={"Authorization": "Bearer ek_made_up"})
        locked.advance(61)
        with pytest.raises(InvalidStatus) as expired:
            connect(url, open_timeout=5, subprotocols=["realtime", f"openai-insecure-api-key.{minted.value}"])  # type: ignore[list-item]
        assert expired.value.response.status_code == 403


def test_binary_frames_and_an_overfull_conversation_get_errors(mock: MockServer,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from mockserver.endpoints.realtime import session

    monkeypatch.setattr(session, "MAX_CONVERSATION_BYTES", 2_000)
    with raw(mock) as socket:
        received(socket)
        socket.send(b"\x00\x01")
        assert received(socket)["error"]["code"] == "invalid_event"
        long = {**HELLO, "content": [{"type": "input_text", "text": "word " * 300}]}
        socket.send(json.dumps({"type": "conversation.item.create", "item": long}))
        assert received(socket)["type"] == "conversation.item.added"
        received(socket)
        socket.send(json.dumps({"type": "conversation.item.create", "item": long}))
        assert received(socket)["error"]["code"] == "conversation_full"
    session_entry = mock.wait_for_requests(1)[-1]
    assert session_entry.body["received"] == 2  # the binary frame was no event


def test_metrics_count_open_sessions_and_their_events() -> None:
    with MockServer() as mock:  # a server of its own: its counters start at zero
        def scrape() -> str:
            return httpx2.get(mock.origin + "/metrics", timeout=5).text

        with raw(mock) as socket:
            received(socket)
            assert "mockserver_websocket_sessions_open 1.0" in scrape()
            socket.send(json.dumps({"type": "conversation.item.create", "item": HELLO}))
            received(socket), received(socket)
        mock.wait_for_requests(1)
        text = scrape()
    assert "mockserver_websocket_sessions_open 0.0" in text
    assert 'mockserver_websocket_events_total{direction="sent"} 3.0' in text
    assert 'mockserver_websocket_events_total{direction="received"} 1.0' in text


def test_tls_serves_https_and_wss(tmp_path: Any) -> None:
    """--tls-cert and --tls-key: the mock answers over HTTPS and its Realtime sessions over wss:// (what clients that
    only connect over TLS need), with a certificate the client trusts."""
    import ssl

    cert, key = self_signed(tmp_path)
    trusted = ssl.create_default_context(cafile=str(cert))
    with MockServer(tls_cert=str(cert), tls_key=str(key)) as secure:
        assert secure.origin.startswith("https://")
        assert httpx2.get(secure.origin + "/_mock/health", verify=trusted, timeout=5).status_code == 200
        with OpenAI(base_url=secure.url, api_key="sk-test", http_client=DefaultHttpxClient(verify=trusted)) as client:
            assert client.chat.completions.create(model="gpt-4o-mini", messages=[
                {"role": "user", "content": "Hello"}]).choices[0].message.content
        with connect(secure.origin.replace("https", "wss", 1) + "/v1/realtime", ssl=trusted, open_timeout=5,
                     additional_headers={"Authorization": "Bearer sk-test"}) as socket:
            assert received(socket)["type"] == "session.created"


def test_a_response_is_cancelled_by_the_client_or_by_speech_over_it(mock: MockServer) -> None:
    """A response paced by ``tokens_per_second`` is still on its way: ``response.cancel`` ends it (``response.done``
    of status ``cancelled``, reason ``client_cancelled``), a second ``response.create`` meanwhile is refused, and
    speech heard while one is sent cancels it (``turn_detected``): barge-in; the client then truncates what was
    played."""
    with raw(mock, **{"X-Mock-Fault": "tokens_per_second;rate=20"}) as socket:
        received(socket)
        socket.send(json.dumps({"type": "conversation.item.create", "item": HELLO}))
        received(socket), received(socket)
        socket.send(json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}}))
        assert received(socket)["type"] == "response.created"
        socket.send(json.dumps({"type": "response.create", "event_id": "again"}))
        socket.send(json.dumps({"type": "response.cancel"}))
        seen = [received(socket)]
        while seen[-1]["type"] != "response.done":
            seen.append(received(socket))
        refused = next(event for event in seen if event["type"] == "error")
        assert refused["error"]["code"] == "conversation_already_has_active_response"
        assert refused["error"]["event_id"] == "again"
        done = seen[-1]["response"]
        assert done["status"] == "cancelled" and done["status_details"]["reason"] == "client_cancelled"

        socket.send(json.dumps({"type": "response.create"}))  # audio, paced
        assert received(socket)["type"] == "response.created"
        played = [received(socket) for _ in range(4)]
        item_id = played[0]["item"]["id"]
        loud = base64.b64encode(struct.pack("<h", 12_000) * 4_800).decode()  # 200 ms of speech
        socket.send(json.dumps({"type": "input_audio_buffer.append", "audio": loud}))
        seen = [received(socket)]
        while seen[-1]["type"] != "response.done":
            seen.append(received(socket))
        assert any(event["type"] == "input_audio_buffer.speech_started" for event in seen)
        done = seen[-1]["response"]
        assert done["status"] == "cancelled" and done["status_details"]["reason"] == "turn_detected"
        socket.send(json.dumps({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
                                "audio_end_ms": 150}))
        cut = next(event["item"] for event in seen if event["type"] == "response.output_item.done")
        assert cut["id"] == item_id and cut["status"] == "incomplete" and cut["content"][0]["type"] == "output_audio"
        truncated = received(socket)
        assert truncated["type"] == "conversation.item.truncated" and truncated["audio_end_ms"] == 150


def test_openai_python_interrupts_a_reply_by_speaking_and_truncates_what_it_played(client: OpenAI) -> None:
    """Through ``client.realtime.connect()``: the user speaks over a paced audio reply, the reply ends ``cancelled``
    (``turn_detected``) with its message kept ``incomplete``, and the client truncates it at what it played."""
    with client.realtime.connect(model="gpt-realtime",
                                 extra_headers={"X-Mock-Fault": "tokens_per_second;rate=20"}) as connection:
        connection.conversation.item.create(item=HELLO)
        until(connection, "conversation.item.done")
        connection.response.create()
        first = until(connection, "response.output_audio.delta")
        item_id = first[-1].item_id
        connection.input_audio_buffer.append(audio=base64.b64encode(struct.pack("<h", 12_000) * 4_800).decode())
        heard = until(connection, "response.done")
        assert "input_audio_buffer.speech_started" in [event.type for event in heard]
        assert heard[-1].response.status == "cancelled"
        assert heard[-1].response.status_details.reason == "turn_detected"
        cut = [event.item for event in heard if event.type == "response.output_item.done"]
        assert [(item.id, item.status) for item in cut] == [(item_id, "incomplete")]
        connection.conversation.item.truncate(item_id=item_id, content_index=0, audio_end_ms=120)
        truncated = until(connection, "conversation.item.truncated")[-1]
        assert truncated.item_id == item_id and truncated.audio_end_ms == 120


@pytest.mark.parametrize(("kind", "silence"), [("audio/pcmu", b"\xff"), ("audio/pcma", b"\xd5")])
def test_g711_sessions_speak_and_hear_8_khz_telephony_audio(client: OpenAI, kind: str, silence: bytes) -> None:
    """``audio/pcmu`` and ``audio/pcma`` on both sides: the reply is 8 kHz G.711 (one byte a sample, 0.3 s a word)
    that carries its transcript, and sent back it is heard by the turn detector and transcribed word for word."""
    with client.realtime.connect(model="gpt-realtime") as connection:
        connection.session.update(session={"type": "realtime", "audio": {
            "input": {"format": {"type": kind}, "transcription": {"model": "gpt-4o-transcribe"}},
            "output": {"format": {"type": kind}, "voice": "marin"}}})
        updated = until(connection, "session.updated")[-1].session
        assert updated.audio.input.format.type == kind and updated.audio.output.format.type == kind
        reply, spoken, said = spoken_reply(connection)
        assert reply[-1].response.audio.output.format.type == kind
        assert reply[-1].response.audio.output.voice == "marin"
        assert all(len(base64.b64decode(event.delta)) <= 1_600 for event in reply
                   if event.type == "response.output_audio.delta")  # 200 ms of 8 kHz a delta
        words = len(said.split())
        assert abs(len(spoken) - 8_000 * 0.3 * words) <= 8_000 * 0.3 * 2
        linear = g711.decode(spoken, "ulaw" if kind == "audio/pcmu" else "alaw")
        assert max(abs(sample) for sample in struct.unpack(f"<{len(linear) // 2}h", linear)) > 1_000
        until(connection, "rate_limits.updated")
        for start in range(0, len(spoken), 1_600):
            connection.input_audio_buffer.append(audio=base64.b64encode(spoken[start:start + 1_600]).decode())
        connection.input_audio_buffer.append(audio=base64.b64encode(silence * 4_000).decode())
        heard = until(connection, "response.done")  # read to the end: a client that stops reading cannot close
    started, stopped, completed = (next(event for event in heard if event.type == wanted) for wanted in (
        "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
        "conversation.item.input_audio_transcription.completed"))
    assert abs(stopped.audio_end_ms - started.audio_start_ms - len(spoken) // 8) <= 400
    assert completed.transcript == said
    assert abs(completed.usage.seconds - (stopped.audio_end_ms - started.audio_start_ms) / 1000) <= 0.6


def test_an_audio_format_the_api_does_not_have_is_an_error_naming_it(mock: MockServer) -> None:
    with raw(mock) as socket:
        received(socket)
        for format_, param in (({"type": "audio/g729"}, "session.audio.input.format.type"),
                               ({"type": "audio/pcm", "rate": 16_000}, "session.audio.input.format.rate"),
                               ("pcm16", "session.audio.input.format")):
            socket.send(json.dumps({"type": "session.update", "event_id": "fmt",
                                    "session": {"type": "realtime", "audio": {"input": {"format": format_}}}}))
            error = received(socket)
            assert error["type"] == "error" and error["error"]["param"] == param, error
        socket.send(json.dumps({"type": "session.update", "session": {"audio": {"output": {
            "format": {"type": "audio/pcma"}}}}}))
        updated = received(socket)["session"]["audio"]
        assert updated["output"]["format"] == {"type": "audio/pcma"}
        assert updated["input"]["format"] == {"type": "audio/pcm", "rate": 24_000}
