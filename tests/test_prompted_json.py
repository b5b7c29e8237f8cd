"""JSON that follows the prompt: JSON modes that put the schema, an example or the field names in the messages.

Unit cases read what a message describes; the framework cases run LangChain's ``json_mode``, pydantic-ai's
``PromptedOutput`` and instructor's prompts (``Mode.JSON``, ``Mode.MD_JSON``, as the SDK sends them) over a
socket and parse the answer into the caller's model.
"""

from __future__ import annotations

import json
import re

import openai
import pytest
from pydantic import BaseModel

from mockserver import MockServer
from mockserver.generation.prompted import MAX_TEXT, described_json

from helpers import API_KEY, module_client, module_server

server = module_server(seed=5)
client = module_client


class Joke(BaseModel):
    setup: str
    punchline: str
    rating: int


class Team(BaseModel):
    name: str
    members: list[Joke]


INSTRUCTOR_JSON = (
    "As a genius expert, your task is to understand the content and provide the parsed objects in json that match "
    "the following json_schema:\n\n{schema}\n\nMake sure to return an instance of the JSON, not the schema itself"
)
MD_JSON_ASK = "Return the correct JSON response within a ```json codeblock. not the JSON_SCHEMA"


def system(text: str) -> dict[str, str]:
    return {"role": "system", "content": text}


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def test_an_embedded_schema_with_defs_is_the_shape() -> None:
    prompt = INSTRUCTOR_JSON.format(schema=json.dumps(Team.model_json_schema(), indent=2))
    found = described_json([system(prompt), user("Make a team")], json_mode=True)
    assert found is not None and found.schema == Team.model_json_schema() and not found.fenced


def test_the_last_schema_wins_over_an_earlier_example_schema() -> None:
    # LangChain's PydanticOutputParser format instructions show a "foo" schema before the real one.
    instructions = (
        'The output should be formatted as a JSON instance that conforms to the JSON schema below.\n\nAs an example, '
        'for the schema {"properties": {"foo": {"type": "array", "items": {"type": "string"}}}, "required": ["foo"]}\n'
        'the object {"foo": ["bar", "baz"]} is a well-formatted instance of the schema.\n\nHere is the output schema:\n'
        f"```\n{json.dumps(Joke.model_json_schema())}\n```"
    )
    found = described_json([system(instructions), user("a joke")], json_mode=False)
    assert found is not None and found.schema == Joke.model_json_schema()
    assert not found.fenced  # a fence shown in the instructions is not a request to fence the answer


def test_a_schema_with_the_doubled_braces_of_an_unformatted_template_is_read() -> None:
    # llama-index's PydanticOutputParser sends its format string with the template's braces still doubled.
    escaped = json.dumps(Joke.model_json_schema()).replace("{", "{{").replace("}", "}}")
    found = described_json([user(f"Tell a joke.\n\nHere's a JSON schema to follow:\n{escaped}\n\n"
                                 "Output a valid JSON object but do not repeat the schema.")], json_mode=False)
    assert found is not None and found.schema == Joke.model_json_schema()


def test_an_example_object_gives_its_keys_and_types() -> None:
    found = described_json([user('Reply in JSON like {"city": "Paris", "population": 2100000, "tags": ["a"], '
                                 '"capital": true, "area": 105.4}')], json_mode=False)
    assert found is not None and found.schema is not None
    assert {name: part["type"] for name, part in found.schema["properties"].items()} == {
        "city": "string", "population": "integer", "tags": "array", "capital": "boolean", "area": "number"}


def test_named_fields_with_their_types() -> None:
    found = described_json([system("You must always output a JSON object with an 'answer' key, a 'followup' key "
                                   "and a 'score' (integer).")], json_mode=True)
    assert found is not None and found.schema is not None
    assert found.schema["properties"] == {"answer": {"type": "string"}, "followup": {"type": "string"},
                                          "score": {"type": "integer"}}
    listed = described_json([user("Return JSON with fields: name, age and email")], json_mode=False)
    assert listed is not None and listed.schema is not None and listed.schema["required"] == ["name", "age", "email"]


def test_prose_questions_about_json_stay_prose_and_json_mode_keeps_its_default() -> None:
    assert described_json([user("What is JSON, and who wrote the RFC?")], json_mode=False) is None
    assert described_json([user("Hello")], json_mode=False) is None
    default = described_json([user("Answer in JSON please.")], json_mode=True)
    assert default is not None and default.schema is None


def test_a_fence_is_asked_for_only_without_a_json_mode() -> None:
    messages = [system("Give the answer as JSON with keys `a` and `b`."), user(MD_JSON_ASK)]
    fenced, bare = described_json(messages, json_mode=False), described_json(messages, json_mode=True)
    assert fenced is not None and fenced.fenced and bare is not None and not bare.fenced


def test_reading_is_bounded_by_text_length_and_nesting() -> None:
    deep = "Reply in JSON: " + "[" * 200_000
    assert described_json([user(deep)], json_mode=False) == described_json([user("Reply in JSON")], json_mode=False)
    late = "Reply in JSON. " + " " * MAX_TEXT + '{"hidden": 1}'
    found = described_json([user(late)], json_mode=False)
    assert found is not None and found.schema is None


def test_json_object_follows_the_schema_in_the_system_prompt(client: openai.OpenAI) -> None:
    prompt = INSTRUCTOR_JSON.format(schema=json.dumps(Team.model_json_schema(), indent=2))
    messages = [system(prompt), user("Invent a comedy team")]
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=messages,  # type: ignore[arg-type]
                                            response_format={"type": "json_object"})
    text = answer.choices[0].message.content or ""
    team = Team.model_validate_json(text)
    assert team.members and all(isinstance(member.rating, int) for member in team.members)
    streamed = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True,  # type: ignore[arg-type]
                                              response_format={"type": "json_object"})
    assert "".join(chunk.choices[0].delta.content or "" for chunk in streamed) == text


def test_markdown_json_is_fenced_and_parses(client: openai.OpenAI) -> None:
    prompt = INSTRUCTOR_JSON.format(schema=json.dumps(Joke.model_json_schema(), indent=2))
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[  # type: ignore[arg-type]
        system(prompt), user("Tell a joke"), user(MD_JSON_ASK)])
    text = answer.choices[0].message.content or ""
    block = re.fullmatch(r"```json\n(.*)\n```", text, re.DOTALL)
    assert block is not None, text
    Joke.model_validate_json(block.group(1))


def test_responses_json_object_reads_the_instructions(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o-mini", input="Tell a joke", text={"format": {"type": "json_object"}},
        instructions=INSTRUCTOR_JSON.format(schema=json.dumps(Joke.model_json_schema())))
    Joke.model_validate_json(response.output_text)


def test_langchain_json_mode_parses_into_the_model(server: MockServer) -> None:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="gpt-4o-mini", base_url=server.url, api_key=API_KEY)  # type: ignore[arg-type]
    structured = model.with_structured_output(Joke, method="json_mode")
    joke = structured.invoke("Tell me a joke. Respond in JSON with the keys 'setup', 'punchline' and "
                             "'rating' (integer).")
    assert isinstance(joke, Joke) and joke.setup and isinstance(joke.rating, int)


@pytest.mark.parametrize("mode", ["prompted", "prompted_with_tool"])
def test_pydantic_ai_prompted_output_parses(server: MockServer, mode: str) -> None:
    from pydantic_ai import Agent, PromptedOutput
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    model = OpenAIChatModel("gpt-4o-mini", provider=OpenAIProvider(base_url=server.url, api_key=API_KEY))
    agent = Agent(model, output_type=PromptedOutput(Joke))
    if mode == "prompted_with_tool":
        @agent.tool_plain
        def topic_of_the_day() -> str:
            """The topic jokes are about today."""
            return "penguins"

    result = agent.run_sync("Tell a joke")
    assert isinstance(result.output, Joke)
    assert len(result.all_messages()) <= 4  # one request, or a tool call and then the answer
