"""The sandbox page in a real browser, against a real mock on loopback, driven by the openai SDK."""

from __future__ import annotations

import json
import subprocess

import anthropic
import ollama
import openai
import pytest
from google import genai
from google.genai import types
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from mockserver import MockServer

API_KEY = "sk-mock"
HELLO = [{"role": "user", "content": "What is the weather in Paris?"}]
WAIT = 10


def wait(browser: webdriver.Chrome):  # type: ignore[no-untyped-def]
    return WebDriverWait(browser, WAIT, poll_frequency=0.1)


def rows(browser: webdriver.Chrome) -> list:
    return browser.find_elements(By.CSS_SELECTOR, "#journal tbody tr.row")


def open_page(browser: webdriver.Chrome, server: MockServer) -> None:
    browser.get(server.origin + "/_mock/ui")
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, "feed-state"), "live"))


def test_requests_appear_live(browser: webdriver.Chrome, server: MockServer, screenshot) -> None:  # type: ignore[no-untyped-def]
    open_page(browser, server)
    assert rows(browser) == []
    client = openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    client.chat.completions.create(model="gpt-4.1", messages=HELLO)
    wait(browser).until(lambda driver: len(rows(driver)) == 2)
    assert [row.find_elements(By.TAG_NAME, "td")[4].text for row in rows(browser)] == ["gpt-4.1", "gpt-4o-mini"]
    browser.find_element(By.ID, "filter-model").send_keys("4.1")
    wait(browser).until(lambda driver: len(rows(driver)) == 1)
    rows(browser)[0].click()
    wait(browser).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#tab-conversation .bubble.assistant"))
    bubbles = browser.find_elements(By.CSS_SELECTOR, "#tab-conversation .bubble")
    assert [bubble.get_attribute("class").split()[1] for bubble in bubbles] == ["user", "assistant"]
    screenshot("conversation")


def test_a_streams_timeline_marks_the_fault(browser: webdriver.Chrome, server: MockServer, screenshot) -> None:  # type: ignore[no-untyped-def]
    open_page(browser, server)
    faulty = openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0,
                           default_headers={"X-Mock-Fault": "disconnect;after_chunks=3"})
    with pytest.raises(openai.APIConnectionError):
        for _ in faulty.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True):
            pass
    wait(browser).until(lambda driver: len(rows(driver)) == 1)
    rows(browser)[0].click()
    browser.find_element(By.CSS_SELECTOR, "button[data-tab=timeline]").click()
    mark = wait(browser).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#tab-timeline .fault-mark"))[0]
    assert mark.get_attribute("data-fault") == "disconnect" and "before chunk 3" in mark.text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#tab-timeline .frame")) == 3
    screenshot("timeline")


def test_a_429_armed_from_the_page_reaches_the_sdk(browser: webdriver.Chrome, server: MockServer, screenshot) -> None:  # type: ignore[no-untyped-def]
    open_page(browser, server)
    spec = browser.find_element(By.ID, "fault-spec")
    spec.clear()
    spec.send_keys("rate_limit;retry_after_ms=1")
    browser.find_element(By.CSS_SELECTOR, "#fault-form button[type=submit]").click()
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, "control-result"), "armed"))
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, "scripts"), "rate_limit"))
    client = openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert client.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.content  # once only
    wait(browser).until(lambda driver: len(rows(driver)) == 2)
    assert [row.find_elements(By.TAG_NAME, "td")[5].text for row in rows(browser)] == ["200", "429"]
    screenshot("armed")


def test_the_playground_shows_a_400_inline(browser: webdriver.Chrome, server: MockServer, screenshot) -> None:  # type: ignore[no-untyped-def]
    open_page(browser, server)
    body = browser.find_element(By.ID, "play-body")
    body.clear()
    body.send_keys(json.dumps({"model": "gpt-4o-mini", "messages": HELLO, "temperature": 9}))
    browser.find_element(By.CSS_SELECTOR, "#playground button[type=submit]").click()
    error = wait(browser).until(lambda driver: driver.find_elements(By.ID, "play-error"))[0]
    assert error.find_element(By.CSS_SELECTOR, ".param").text == "temperature"
    assert "HTTP 400" in browser.find_element(By.ID, "play-status").text
    screenshot("playground-400")
    body.clear()
    body.send_keys(json.dumps({"model": "gpt-4o-mini", "messages": HELLO, "stream": True}))
    browser.find_element(By.CSS_SELECTOR, "#playground button[type=submit]").click()
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, "play-output"), "data: [DONE]"))
    screenshot("playground-stream")


def test_the_clock_advanced_from_the_page_refills_a_bucket(browser: webdriver.Chrome, screenshot) -> None:  # type: ignore[no-untyped-def]
    with MockServer(seed=8, freeze_time=True, rpm=1) as limited:
        open_page(browser, limited)
        wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, "clock-now"), "frozen"))
        assert browser.find_element(By.ID, "clock-now").text.startswith("2025-01-01T00:00:00Z")
        client = openai.OpenAI(base_url=limited.url, api_key=API_KEY, max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        seconds = browser.find_element(By.ID, "clock-seconds")
        seconds.clear()
        seconds.send_keys("60")
        browser.find_element(By.CSS_SELECTOR, "#clock-form button[type=submit]").click()
        wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, "control-result"),
                                                                              "clock advanced to 2025-01-01T00:01:00Z"))
        assert limited.now() == 1_735_689_660
        assert client.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.content
        wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, "clock-now"), "00:01:00Z"))
        screenshot("clock")


def test_copy_as_curl_quotes_what_another_site_planted(browser: webdriver.Chrome, server: MockServer,
                                                      screenshot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A journaled test id and path with shell syntax in them stay one word each when the snippet runs."""
    planted = tmp_path / "planted"
    hostile = f"x'; touch {planted}; echo '"
    open_page(browser, server)
    client = openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0,
                           default_headers={"X-Mock-Test-Id": hostile, "X-Mock-Fault": "ttft;ms=1"})
    for _ in client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True):
        pass
    wait(browser).until(lambda driver: len(rows(driver)) == 1)
    rows(browser)[0].click()
    wait(browser).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#tab-conversation .bubble.assistant"))
    browser.find_element(By.ID, "copy-curl").click()
    snippet = wait(browser).until(lambda driver: driver.find_element(By.ID, "snippet").text)
    assert snippet.startswith("curl -N ") and '"Authorization: Bearer $OPENAI_API_KEY"' in snippet
    # Run it with curl standing in for a function that prints its arguments: the planted command never runs.
    shown = subprocess.run(["bash", "-c", 'curl() { printf "%s\\n" "$@"; }\n' + snippet],
                           capture_output=True, text=True, env={"OPENAI_API_KEY": "sk-env", "PATH": "/usr/bin:/bin"},
                           check=True).stdout.splitlines()
    assert not planted.exists()
    assert f"x-mock-test-id: {hostile}" in shown and "x-mock-fault: ttft;ms=1" in shown
    assert "Authorization: Bearer sk-env" in shown
    screenshot("copy-as-curl")


def test_an_anthropic_exchange_reads_as_a_conversation(browser: webdriver.Chrome, server: MockServer,
                                                       screenshot) -> None:  # type: ignore[no-untyped-def]
    """Anthropic's system prompt, thinking, tool_use and tool_result blocks as turns, from a message body and
    rebuilt from its event stream; its curl carries Anthropic's key header."""
    open_page(browser, server)
    client = anthropic.Anthropic(base_url=server.origin, api_key=API_KEY, max_retries=0)
    weather = {"name": "get_weather", "description": "The weather in a city", "input_schema": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
    asked = {"model": "claude-sonnet-4-6", "max_tokens": 2048, "system": "You are terse.", "tools": [weather],
             "thinking": {"type": "enabled", "budget_tokens": 1024}, "messages": HELLO}
    with client.messages.stream(**asked) as stream:
        called = stream.get_final_message()
    use = next(block for block in called.content if block.type == "tool_use")
    answered = client.messages.create(**{**asked, "messages": [
        *HELLO, {"role": "assistant", "content": called.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21 C"}]}]})
    wait(browser).until(lambda driver: len(rows(driver)) == 2)
    rows(browser)[1].click()  # the stream: its turn rebuilt from the events
    wait(browser).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#tab-conversation .bubble.tool-call"))
    kinds = [bubble.get_attribute("class").split()[1]
             for bubble in browser.find_elements(By.CSS_SELECTOR, "#tab-conversation .bubble")]
    assert kinds == ["system", "user", "thinking", "tool-call"]
    call = browser.find_element(By.CSS_SELECTOR, "#tab-conversation .bubble.tool-call").text
    assert f"get_weather({json.dumps(use.input, separators=(',', ':'))})" in call
    screenshot("anthropic-stream")
    rows(browser)[0].click()  # the continuation: the tool's result, then the answer from the message body
    wait(browser).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#tab-conversation .bubble.tool"))
    bubbles = browser.find_elements(By.CSS_SELECTOR, "#tab-conversation .bubble")
    assert [bubble.get_attribute("class").split()[1] for bubble in bubbles] == [
        "system", "user", "thinking", "tool-call", "tool", "thinking", "assistant"]
    assert "Sunny, 21 C" in bubbles[4].text
    said = "".join(block.text for block in answered.content if block.type == "text")
    assert said and said in bubbles[-1].text
    browser.find_element(By.ID, "copy-curl").click()
    snippet = wait(browser).until(lambda driver: driver.find_element(By.ID, "snippet").text)
    assert '"x-api-key: $ANTHROPIC_API_KEY"' in snippet and "anthropic-version: 2023-06-01" in snippet
    screenshot("anthropic-conversation")


def test_gemini_and_ollama_exchanges_read_as_conversations_with_their_timelines(
        browser: webdriver.Chrome, server: MockServer, screenshot) -> None:  # type: ignore[no-untyped-def]
    """A Gemini stream (thoughts and a function call, rebuilt from its SSE chunks) and an Ollama chat streamed as JSON
    lines: each reads as turns, its timeline lists its frames, and its curl carries the provider's key (or none)."""
    open_page(browser, server)
    gemini = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=server.origin))
    weather = types.FunctionDeclaration(name="get_weather", description="The weather in a city",
                                        parameters_json_schema={"type": "object", "required": ["city"],
                                                                "properties": {"city": {"type": "string"}}})
    config = types.GenerateContentConfig(
        system_instruction="You are terse.", tools=[types.Tool(function_declarations=[weather])],
        thinking_config=types.ThinkingConfig(include_thoughts=True),
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")))
    chunks = list(gemini.models.generate_content_stream(model="gemini-2.5-flash", contents=HELLO[0]["content"],
                                                        config=config))
    call = next(part.function_call for chunk in chunks for part in chunk.candidates[0].content.parts
                if part.function_call)
    local = ollama.Client(host=server.origin)
    said = "".join(part.message.content for part in local.chat(model="llama3.2", messages=HELLO, stream=True))
    wait(browser).until(lambda driver: len(rows(driver)) == 2)
    rows(browser)[1].click()  # Gemini's stream
    wait(browser).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#tab-conversation .bubble.tool-call"))
    kinds = [bubble.get_attribute("class").split()[1]
             for bubble in browser.find_elements(By.CSS_SELECTOR, "#tab-conversation .bubble")]
    assert kinds == ["system", "user", "thinking", "tool-call"]
    assert f"get_weather({json.dumps(call.args, separators=(',', ':'))})" in \
        browser.find_element(By.CSS_SELECTOR, "#tab-conversation .bubble.tool-call").text
    browser.find_element(By.CSS_SELECTOR, "button[data-tab=timeline]").click()
    frames = browser.find_elements(By.CSS_SELECTOR, "#tab-timeline .frame")
    assert len(frames) == len(chunks) and "finishReason: STOP" in frames[-1].text
    browser.find_element(By.ID, "copy-curl").click()
    snippet = wait(browser).until(lambda driver: driver.find_element(By.ID, "snippet").text)
    assert '"x-goog-api-key: $GEMINI_API_KEY"' in snippet and "streamGenerateContent" in snippet
    screenshot("gemini-stream")
    rows(browser)[0].click()  # Ollama's lines
    browser.find_element(By.CSS_SELECTOR, "button[data-tab=conversation]").click()
    wait(browser).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#tab-conversation .bubble.assistant"))
    assert said in browser.find_element(By.CSS_SELECTOR, "#tab-conversation .bubble.assistant").text
    browser.find_element(By.CSS_SELECTOR, "button[data-tab=timeline]").click()
    lines = browser.find_elements(By.CSS_SELECTOR, "#tab-timeline .frame")
    assert len(lines) == server.requests[-1].chunks_sent and "done_reason: stop" in lines[-1].text
    screenshot("ollama-stream")


def test_a_realtime_session_is_one_row_with_its_events_on_the_timeline(
        browser: webdriver.Chrome, server: MockServer, screenshot) -> None:  # type: ignore[no-untyped-def]
    open_page(browser, server)
    client = openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0)
    with client.realtime.connect(model="gpt-realtime") as connection:
        connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        connection.conversation.item.create(item={"type": "message", "role": "user",
                                                  "content": [{"type": "input_text", "text": "Hello there"}]})
        connection.response.create()
        said = ""
        for event in connection:
            if event.type == "response.output_text.delta":
                said += event.delta
            if event.type == "response.done":
                break
    wait(browser).until(lambda driver: len(rows(driver)) == 1)
    cells = rows(browser)[0].find_elements(By.TAG_NAME, "td")
    assert "/v1/realtime" in cells[3].text and cells[5].text == "101"
    rows(browser)[0].click()
    wait(browser).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#tab-conversation .bubble.assistant"))
    assert "Hello there" in browser.find_element(By.CSS_SELECTOR, "#tab-conversation .bubble.user").text
    assert said and said in browser.find_element(By.CSS_SELECTOR, "#tab-conversation .bubble.assistant").text
    browser.find_element(By.CSS_SELECTOR, "button[data-tab=timeline]").click()
    frames = browser.find_elements(By.CSS_SELECTOR, "#tab-timeline .frame")
    summaries = [frame.text for frame in frames]
    assert "session.created" in summaries[0] and any("response.done" in summary for summary in summaries)
    screenshot("realtime-session")


def test_history_loads_newest_first_with_request_numbers(browser: webdriver.Chrome, server: MockServer,
                                                         screenshot) -> None:  # type: ignore[no-untyped-def]
    client = openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0)
    for model in ("gpt-4o-mini", "gpt-4.1", "gpt-4o"):
        client.chat.completions.create(model=model, messages=HELLO)
    open_page(browser, server)
    wait(browser).until(lambda driver: len(rows(driver)) == 3)
    client.chat.completions.create(model="gpt-4.1-mini", messages=HELLO)  # live, after the history
    wait(browser).until(lambda driver: len(rows(driver)) == 4)
    cells = [row.find_elements(By.TAG_NAME, "td") for row in rows(browser)]
    numbers = [int(row[0].text.removeprefix("#")) for row in cells]  # the journal's ids (admin calls take some)
    assert numbers == sorted(numbers, reverse=True) and numbers[-3:] == [3, 2, 1]
    assert [row[4].text for row in cells] == ["gpt-4.1-mini", "gpt-4o", "gpt-4.1", "gpt-4o-mini"]
    assert all(cell.get_attribute("title") == cell.text for row in cells for cell in row)  # whole text on hover
    screenshot("history")


def test_refusals_errors_and_cut_streams_read_as_failures(browser: webdriver.Chrome, server: MockServer,
                                                         screenshot) -> None:  # type: ignore[no-untyped-def]
    open_page(browser, server)
    client = openai.OpenAI(base_url=server.url, api_key=API_KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, temperature=7)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO,
                                       extra_headers={"X-Mock-Fault": "rate_limit;retry_after_ms=10"})
    with pytest.raises(openai.APIConnectionError):
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True,
                                                extra_headers={"X-Mock-Fault": "disconnect;after_chunks=2"}):
            pass
    wait(browser).until(lambda driver: len(rows(driver)) == 3)
    cut, limited, refused = (row.find_elements(By.TAG_NAME, "td") for row in rows(browser))
    assert refused[6].text == "validation" and limited[6].text == "header"
    assert "status-broken" in cut[5].get_attribute("class") and cut[9].text == "disconnect"
    assert refused[5].text == "400" and "status-4" in refused[5].get_attribute("class")

    rows(browser)[2].click()  # refused by validation: said so, and its error shown
    wait(browser).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#tab-conversation .bubble.error"))
    assert "refused by validation" in browser.find_element(By.ID, "detail-summary").text
    error = browser.find_element(By.CSS_SELECTOR, "#tab-conversation .bubble.error").text
    assert "error 400" in error.lower() and "temperature" in error
    browser.find_element(By.CSS_SELECTOR, "button[data-tab=why]").click()
    wait(browser).until(lambda driver: "Refused by validation" in driver.find_element(By.ID, "tab-why").text)
    screenshot("refused")

    browser.find_element(By.CSS_SELECTOR, "button[data-tab=conversation]").click()
    rows(browser)[1].click()  # the 429: its error in the conversation
    wait(browser).until(lambda driver: "error 429" in driver.find_element(By.ID, "tab-conversation").text.lower())
    rows(browser)[0].click()  # the cut stream: a partial answer, and how it ended
    wait(browser).until(lambda driver: "ended: disconnect" in driver.find_element(By.ID, "tab-conversation").text)
    screenshot("cut-stream")
