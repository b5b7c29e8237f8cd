"""How the generator reads what a prompt asks for, as agent frameworks write it (issue #30): Python type phrases and
maps of field schemas as JSON shapes, no invented JSON, the entity asked about as a tool's argument, a tool only when
the turn needs one, tool histories written as text, integers near zero, and the dated snapshot an alias answers as.
Each case is one raw request of the kind the framework sends, over a socket."""

from __future__ import annotations

import json
import random

import openai
import pytest

from mockserver.generation import jsongen
from mockserver.generation.prompted import described_json

from helpers import module_client, module_server

server = module_server(seed=13)
client = module_client

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
FINAL_ANSWER = {"type": "function", "function": {
    "name": "final_answer", "description": "Provides a final answer to the given problem",
    "parameters": {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}}}
DSPY_REACT_ASK = (
    "[[ ## question ## ]]\nWhat is the weather in Paris?\n\n[[ ## trajectory ## ]]\n\n\n"
    "Respond with a JSON object in the following order of fields: `next_thought`, then `next_tool_name` (must be "
    "formatted as a valid Python Literal['get_weather', 'finish']), then `next_tool_args` (must be formatted as a "
    "valid Python dict[str, Any]).")


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def test_python_type_phrases_are_schemas_and_their_quoted_values_never_keys() -> None:
    found = described_json([user(DSPY_REACT_ASK)], json_mode=False)
    assert found is not None and found.schema == {
        "type": "object", "additionalProperties": False,
        "required": ["next_thought", "next_tool_name", "next_tool_args"],
        "properties": {"next_thought": {"type": "string"},
                       "next_tool_name": {"enum": ["get_weather", "finish"], "type": "string"},
                       "next_tool_args": {"type": "object"}}}
    typed = described_json([user("Output JSON with fields: `tags` (list[str]), `count` (int), `ratio` (float), "
                                 "`ok` (bool), `level` (Literal[1, 2, 3]), `rows` (list[dict[str, Any]])")],
                           json_mode=False)
    assert typed is not None and typed.schema is not None
    assert typed.schema["properties"] == {
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
        "count": {"type": "integer"}, "ratio": {"type": "number"}, "ok": {"type": "boolean"},
        "level": {"enum": [1, 2, 3]}, "rows": {"type": "array", "items": {"type": "object"}, "minItems": 1,
                                              "maxItems": 3}}


def test_dspy_s_json_fallback_gets_a_listed_tool_and_an_object_of_arguments(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[user(DSPY_REACT_ASK)],
                                            response_format={"type": "json_object"})
    parsed = json.loads(answer.choices[0].message.content or "")
    assert set(parsed) == {"next_thought", "next_tool_name", "next_tool_args"}
    assert parsed["next_tool_name"] in ("get_weather", "finish") and isinstance(parsed["next_tool_args"], dict)


def test_a_map_of_field_schemas_is_the_answer_s_shape(client: openai.OpenAI) -> None:
    ask = 'Tell a joke. Respond in JSON: {"setup": {"type": "string"}, "rating": {"type": "integer"}}'
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[user(ask)],
                                            response_format={"type": "json_object"})
    parsed = json.loads(answer.choices[0].message.content or "")
    assert set(parsed) == {"setup", "rating"} and isinstance(parsed["setup"], str)
    assert isinstance(parsed["rating"], int)


def test_json_asked_with_no_shape_is_an_empty_object_not_an_invented_one(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[user("Answer in JSON please.")],
                                            response_format={"type": "json_object"})
    assert answer.choices[0].message.content == "{}"


@pytest.mark.parametrize("asked", ["What is the weather in Paris?", "Task: What is the weather in Paris?",
                                   "what's it like in Paris today", "Check the weather for 'Paris' please"])
def test_a_tool_argument_is_the_entity_asked_about(client: openai.OpenAI, asked: str) -> None:
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[user(asked)], tools=[WEATHER],
                                            tool_choice="required")
    calls = answer.choices[0].message.tool_calls or []
    assert [json.loads(call.function.arguments)["city"] for call in calls] == ["Paris"]


def test_a_tool_is_called_when_the_turn_needs_one(client: openai.OpenAI) -> None:
    hello = client.chat.completions.create(model="gpt-4o-mini", messages=[user("Say hello.")], tools=[WEATHER])
    assert hello.choices[0].message.tool_calls is None and hello.choices[0].message.content
    weather = client.chat.completions.create(model="gpt-4o-mini", messages=[user("How is the weather in Oslo?")],
                                             tools=[WEATHER])
    assert [call.function.name for call in weather.choices[0].message.tool_calls or []] == ["get_weather"]
    forced = client.chat.completions.create(model="gpt-4o-mini", messages=[user("Say hello.")], tools=[WEATHER],
                                            tool_choice="required")
    assert [call.function.name for call in forced.choices[0].message.tool_calls or []] == ["get_weather"]


def test_a_tool_history_written_as_text_ends_the_loop(client: openai.OpenAI) -> None:
    """smolagents' ToolCallingAgent writes its calls and their results into the conversation as text."""
    history = [user("What is the weather in Paris?"),
               {"role": "assistant", "content": "Calling tools:\n[{'id': 'call_1', 'type': 'function', 'function': "
                                                "{'name': 'get_weather', 'arguments': {'city': 'Paris'}}}]"},
               user("Observation:\nSunny and 21 C in Paris")]
    required = client.chat.completions.create(model="gpt-4o-mini", messages=history,
                                              tools=[WEATHER, FINAL_ANSWER], tool_choice="required")
    assert [call.function.name for call in required.choices[0].message.tool_calls or []] == ["final_answer"]
    free = client.chat.completions.create(model="gpt-4o-mini", messages=history, tools=[WEATHER])
    assert free.choices[0].message.tool_calls is None and free.choices[0].message.content


def test_integers_bounded_only_by_their_type_stay_near_zero() -> None:
    safe = {"type": "integer", "minimum": -(2**53) + 1, "maximum": 2**53 - 1}
    assert all(0 <= jsongen.generate(safe, random.Random(seed)) <= 100 for seed in range(50))
    above = {"type": "integer", "minimum": 10**7, "maximum": 2**53 - 1}
    assert all(10**7 <= jsongen.generate(above, random.Random(seed)) <= 10**7 + 100 for seed in range(20))
    asked = {"type": "integer", "minimum": 1000, "maximum": 2000}  # bounds that ask for a range keep it
    assert all(1000 <= jsongen.generate(asked, random.Random(seed)) <= 2000 for seed in range(20))


def test_an_alias_answers_as_its_dated_snapshot(client: openai.OpenAI) -> None:
    hello = [user("Hello")]
    assert client.chat.completions.create(model="gpt-4o-mini", messages=hello).model == "gpt-4o-mini-2024-07-18"
    assert client.chat.completions.create(model="gpt-4o-mini-2024-07-18", messages=hello).model == \
        "gpt-4o-mini-2024-07-18"
    assert client.chat.completions.create(model="my-fine-tune", messages=hello).model == "my-fine-tune"
    assert client.responses.create(model="gpt-4.1", input="Hello").model == "gpt-4.1-2025-04-14"


DSPY_SYSTEM = """Your input fields are:
1. `question` (str):
2. `trajectory` (str):
Your output fields are:
1. `next_thought` (str):
2. `next_tool_name` (Literal['get_weather', 'finish']):
3. `next_tool_args` (dict[str, Any]):
All interactions will be structured in the following way, with the appropriate values filled in.

[[ ## question ## ]]
{question}

[[ ## trajectory ## ]]
{trajectory}

[[ ## next_thought ## ]]
{next_thought}

[[ ## next_tool_name ## ]]
{next_tool_name}

[[ ## next_tool_args ## ]]
{next_tool_args}

[[ ## completed ## ]]
In adhering to this structure, your objective is:
        You are an Agent. When selecting the next_tool_name and its next_tool_args, the tool must be one of:

        (1) get_weather, whose description is <desc>Get the current weather in a city.</desc>. It takes arguments {'city': {'type': 'string'}}.
        (2) finish, whose description is <desc>Marks the task as complete.</desc>. It takes arguments {}.
        When providing `next_tool_args`, the value inside the field must be in JSON format"""
DSPY_CHAT_ASK = (
    "Respond with the corresponding output fields, starting with the field `[[ ## next_thought ## ]]`, then "
    "`[[ ## next_tool_name ## ]]` (must be formatted as a valid Python Literal['get_weather', 'finish']), then "
    "`[[ ## next_tool_args ## ]]` (must be formatted as a valid Python dict[str, Any]), and then ending with the "
    "marker for `[[ ## completed ## ]]`.")
OBSERVED = ("[[ ## thought_0 ## ]]\nI look it up.\n\n[[ ## tool_name_0 ## ]]\nget_weather\n\n[[ ## tool_args_0 ## ]]\n"
            '{"city": "Paris"}\n\n[[ ## observation_0 ## ]]\nSunny and 21 C in Paris')


def dspy_turn(trajectory: str, ask: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": DSPY_SYSTEM},
            user(f"[[ ## question ## ]]\nWhat is the weather in Paris?\n\n[[ ## trajectory ## ]]\n{trajectory}\n\n{ask}")]


def fields(text: str) -> dict[str, str]:
    """DSPy's ChatAdapter parse: each marker's section, up to the next."""
    parts = text.split("[[ ## ")
    found = {}
    for part in parts[1:]:
        name, _, value = part.partition(" ## ]]")
        found[name] = value.strip()
    return found


def test_dspy_s_chat_adapter_gets_every_field_under_its_marker_and_react_ends(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="gpt-4o-mini", messages=dspy_turn("", DSPY_CHAT_ASK))
    text = first.choices[0].message.content or ""
    assert text.endswith("[[ ## completed ## ]]")
    parsed = fields(text)
    assert list(parsed) == ["next_thought", "next_tool_name", "next_tool_args", "completed"]
    assert parsed["next_thought"] and parsed["next_tool_name"] == "get_weather"
    assert json.loads(parsed["next_tool_args"]) == {"city": "Paris"}
    then = client.chat.completions.create(model="gpt-4o-mini", messages=dspy_turn(OBSERVED, DSPY_CHAT_ASK))
    after = fields(then.choices[0].message.content or "")
    assert after["next_tool_name"] == "finish" and json.loads(after["next_tool_args"]) == {}


def test_dspy_s_json_adapter_gets_one_object_and_react_ends(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="gpt-4o-mini", messages=dspy_turn("", DSPY_REACT_ASK.split(
        "\n\n")[-1]), response_format={"type": "json_object"})
    parsed = json.loads(first.choices[0].message.content or "")
    assert list(parsed) == ["next_thought", "next_tool_name", "next_tool_args"]
    assert parsed["next_tool_name"] == "get_weather" and parsed["next_tool_args"] == {"city": "Paris"}
    then = client.chat.completions.create(model="gpt-4o-mini", messages=dspy_turn(OBSERVED, DSPY_REACT_ASK.split(
        "\n\n")[-1]), response_format={"type": "json_object"})
    assert json.loads(then.choices[0].message.content or "")["next_tool_name"] == "finish"


def test_dspy_s_typed_outputs_are_made_for_their_types(client: openai.OpenAI) -> None:
    ask = ("Respond with the corresponding output fields, starting with the field `[[ ## reasoning ## ]]`, then "
           "`[[ ## answer ## ]]` (must be formatted as a valid Python int), then `[[ ## sure ## ]]` (must be "
           "formatted as a valid Python bool), and then ending with the marker for `[[ ## completed ## ]]`.")
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "system", "content": "Your input fields are:\n1. `question` (str):"},
        user(f"[[ ## question ## ]]\nHow many legs has a cat?\n\n{ask}")])
    parsed = fields(answer.choices[0].message.content or "")
    assert parsed["reasoning"] and isinstance(json.loads(parsed["answer"]), int)
    assert json.loads(parsed["sure"]) in (True, False)


REACT_PROMPT = """Answer the following questions as best you can. You have access to the following tools:

get_weather(city: str) -> str - Get the current weather in a city
search(query: str) -> str - Search the web

Use the following format:

Question: the input question you must answer
Thought: you should always think about what to do
Action: the action to take, should be one of [get_weather, search]
Action Input: the input to the action
Observation: the result of the action
... (this Thought/Action/Action Input/Observation can repeat N times)
Thought: I now know the final answer
Final Answer: the final answer to the original input question

Begin!

Question: What is the weather in Paris?
Thought:{scratchpad}"""


def test_the_react_text_format_acts_then_answers(client: openai.OpenAI) -> None:
    """LangChain's create_react_agent prompt, as it sends it (stop at the observation)."""
    first = client.chat.completions.create(model="gpt-4o-mini", stop=["\nObservation"],
                                           messages=[user(REACT_PROMPT.format(scratchpad=""))])
    text = first.choices[0].message.content or ""
    lines = dict(line.split(": ", 1) for line in text.splitlines()[1:])
    assert lines["Action"] == "get_weather" and json.loads(lines["Action Input"]) == {"city": "Paris"}
    assert "Final Answer" not in text
    scratchpad = f" {text}\nObservation: Sunny and 21 C in Paris\nThought:"
    then = client.chat.completions.create(model="gpt-4o-mini", stop=["\nObservation"],
                                          messages=[user(REACT_PROMPT.format(scratchpad=scratchpad))])
    final = then.choices[0].message.content or ""
    assert final.startswith("I now know the final answer\nFinal Answer: ") and "Action:" not in final
    plain = REACT_PROMPT.replace("get_weather(city: str) -> str - Get", "get_weather: Get")
    bare = client.chat.completions.create(model="gpt-4o-mini", messages=[user(plain.format(scratchpad=""))])
    assert "Action Input: Paris" in (bare.choices[0].message.content or "")  # no arguments shown: the entity


CODE_AGENT_SYSTEM = """You are an expert assistant who can solve any task using code blobs.
To solve the task, you must plan forward to proceed in a series of steps, in a cycle of Thought, Code, and \
Observation sequences.
Then in the Code sequence you should write the code in simple Python. The code sequence must be opened with \
'{opening}', and closed with '{closing}'.
In the end you have to return a final answer using the `final_answer` tool.
You only have access to these tools, behaving like regular python functions:
{opening}
def get_weather(city: string) -> string:
    \"\"\"Get the current weather for a city.

    Args:
        city: The city to get the weather for.
    \"\"\"

def get_time(zone: string, twelve_hours: boolean) -> string:
    \"\"\"Get the time in a time zone.\"\"\"

def final_answer(answer: any) -> any:
    \"\"\"Provides a final answer to the given problem.\"\"\"
{closing}
4. For tools WITHOUT JSON output schema: Take care to not chain too many sequential tool calls in the same code \
block. 5. For tools WITH JSON output schema: You can confidently chain multiple tool calls and directly access \
structured output fields in the same code block! When a tool has a JSON output schema, you know exactly what \
fields to expect.
Now Begin!"""


def code_agent_turns(opening: str, closing: str, *observed: str) -> list[dict[str, str]]:
    turns = [{"role": "system", "content": CODE_AGENT_SYSTEM.format(opening=opening, closing=closing)},
             user("New task:\nWhat is the weather in Paris?")]
    for text in observed:
        turns += [{"role": "assistant", "content": "Thought: ..."}, user(text)]
    return turns


@pytest.mark.parametrize(("opening", "closing"), [("<code>", "</code>"), ("```python", "```")],
                         ids=["code-tags", "markdown"])
def test_a_code_agent_gets_code_that_calls_the_tool_then_final_answer(client: openai.OpenAI, opening: str,
                                                                       closing: str) -> None:
    """smolagents' CodeAgent, as it sends its steps (it stops at a closing tag that is not in the opening one, and
    adds it back)."""
    stop = ["Observation:", "Calling tools:"] + ([closing] if closing not in opening else [])
    first = client.chat.completions.create(model="gpt-4o-mini", messages=code_agent_turns(opening, closing),
                                           stop=stop)
    text = first.choices[0].message.content or ""
    thought, _, code = text.partition(f"\n{opening}\n")
    assert thought.startswith("Thought: ") and "`get_weather`" in thought
    assert code.strip().removesuffix(closing).strip() == "result = get_weather(city='Paris')\nprint(result)"
    retried = client.chat.completions.create(  # a parsing error is no observation: the step is tried again
        model="gpt-4o-mini", messages=code_agent_turns(opening, closing, "Error:\nCode parsing failed"))
    assert "get_weather(city='Paris')" in (retried.choices[0].message.content or "")
    then = client.chat.completions.create(
        model="gpt-4o-mini", messages=code_agent_turns(opening, closing, "Observation:\nExecution logs:\nSunny"))
    final = then.choices[0].message.content or ""
    assert final.startswith("Thought: ") and final.endswith(closing)
    code = final.split(f"\n{opening}\n", 1)[1].removesuffix(closing)
    assert code.startswith("final_answer('") and "get_weather" not in code


def test_a_legacy_code_agent_and_a_structured_one_get_the_same_step(client: openai.OpenAI) -> None:
    """smolagents before 1.20 (``Code:`` / ```` ```py ```` / ```` ```<end_code> ````), and
    ``use_structured_outputs_internally`` (a JSON schema of thought and code)."""
    legacy = CODE_AGENT_SYSTEM.replace("must be opened with '{opening}', and closed with '{closing}'",
                                       "must be 'Code:\\n```py' ending with '```<end_code>'")
    messages = [{"role": "system", "content": legacy.format(opening="```py", closing="```<end_code>")},
                user("New task:\nWhat is the weather in Paris?")]
    text = client.chat.completions.create(model="gpt-4o-mini", messages=messages).choices[0].message.content or ""
    assert "\nCode:\n```py\nresult = get_weather(city='Paris')\nprint(result)\n```<end_code>" in text
    schema = {"type": "object", "additionalProperties": False, "required": ["thought", "code"],
              "properties": {"thought": {"type": "string"}, "code": {"type": "string"}}}
    structured = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages,
        response_format={"type": "json_schema", "json_schema": {"name": "ThoughtAndCodeAnswer", "schema": schema}})
    step = json.loads(structured.choices[0].message.content or "")
    assert set(step) == {"thought", "code"} and step["code"] == "result = get_weather(city='Paris')\nprint(result)"


def test_a_code_agent_with_only_final_answer_answers_at_once(client: openai.OpenAI) -> None:
    system = CODE_AGENT_SYSTEM.format(opening="<code>", closing="</code>")
    system = system[:system.index("def get_weather")] + system[system.index("def final_answer"):]
    messages = [{"role": "system", "content": system}, user("New task:\nSay hello.")]
    text = client.chat.completions.create(model="gpt-4o-mini", messages=messages).choices[0].message.content or ""
    assert "<code>\nfinal_answer('" in text


@pytest.mark.parametrize("prompt", [
    "Return a JSON object with the keys 'a' and 'b'.", "Please respond only in JSON.",
    "The output should be formatted as a JSON instance that conforms to the JSON schema below.",
    "Always respond with a JSON object that's compatible with this schema:",
    "You will be generating a JSON object with the following structure:", "Your response must be valid JSON.",
    "Extract the entities and return them as JSON.", "Output JSON only.", "Give me the result in JSON format.",
])
def test_an_instruction_to_answer_in_json_is_an_ask(prompt: str) -> None:
    assert described_json([user(prompt)], json_mode=False) is not None


@pytest.mark.parametrize("prompt", [
    "You can directly access structured output fields in the same code block! When a tool has a JSON output schema, "
    "you know exactly what fields to expect.",
    "The API returns JSON.", "This tool outputs JSON describing the weather.", "Explain what JSON is.",
    "The provided JSON file lists the users.",
])
def test_prose_that_only_mentions_json_is_no_ask(client: openai.OpenAI, prompt: str) -> None:
    assert described_json([user(prompt)], json_mode=False) is None
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[user(prompt)])
    assert not (answer.choices[0].message.content or "").startswith(("{", "```"))


def test_a_code_agent_without_a_task_marker_reads_its_first_user_turn(client: openai.OpenAI) -> None:
    messages = [{"role": "system", "content": CODE_AGENT_SYSTEM.format(opening="<code>", closing="</code>")},
                user("What time is it in the Europe/Paris zone?")]
    text = client.chat.completions.create(model="gpt-4o-mini", messages=messages).choices[0].message.content or ""
    assert "<code>\nresult = get_time(" in text
