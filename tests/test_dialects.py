"""Each dialect through the official openai SDK, with ``base_url`` at the provider's path.

A dialect is data (fixtures/dialects.yaml, a catalog and a schema overlay); these
tests check that the data reaches the wire: each provider's catalog, model rules,
persona, required system message and parameter limits.
"""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest
import yaml

from mockserver import MockServer
from mockserver.conformance import validate_official
from mockserver.resources import fixtures_dir

from helpers import sdk_client

HELLO = [{"role": "user", "content": "Hello there!"}]
SYSTEM = [{"role": "system", "content": "You are concise."}]

# dialect -> how to reach it -> a model its catalog lists
MOUNTS: dict[str, list[Callable[[MockServer], str]]] = {
    "openai": [lambda s: s.url, lambda s: s.url_for("openai")],
    "serika": [lambda s: s.url_for("serika"), lambda s: s.origin + "/api/openai/v1"],
    "openserv": [lambda s: s.url_for("openserv")],
    "samurai": [lambda s: s.url_for("samurai")],
}
CASES = [(name, index) for name, mounts in MOUNTS.items() for index in range(len(mounts))]


def _catalog_ids(dialect: str) -> list[str]:
    return [entry["id"] for entry in _catalog_entries(dialect)]


def _catalog_entries(dialect: str) -> list[dict]:
    return yaml.safe_load((fixtures_dir() / "models" / f"{dialect}.yaml").read_text())["models"]


def _client(server: MockServer, dialect: str, mount: int = 0) -> openai.OpenAI:
    return sdk_client(MOUNTS[dialect][mount](server))


def _messages(dialect: str) -> list[dict]:
    return SYSTEM + HELLO if dialect == "openserv" else HELLO


def test_base_urls(server: MockServer) -> None:
    assert server.url_for("serika") == server.origin + "/serika/api/openai/v1"
    assert server.url_for("openserv") == server.origin + "/openserv/v1"
    assert server.url_for("samurai") == server.origin + "/samurai/v1"


@pytest.mark.parametrize("dialect, mount", CASES)
def test_catalog_list_and_retrieve(server: MockServer, dialect: str, mount: int) -> None:
    client = _client(server, dialect, mount)
    raw = client.models.with_raw_response.list()
    validate_official("ListModelsResponse", raw.http_response.json())
    expected = _catalog_ids(dialect)
    assert [model.id for model in raw.parse().data] == expected
    for model_id in (expected[0], expected[-1]):
        model = client.models.retrieve(model_id)
        assert model.id == model_id and model.object == "model"
        validate_official("Model", model.model_dump(exclude_none=True))
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("no-such-model-anywhere")
    assert raised.value.code == "model_not_found"


@pytest.mark.parametrize("dialect, mount", CASES)
def test_chat_with_a_catalog_model(server: MockServer, dialect: str, mount: int) -> None:
    entry = _catalog_entries(dialect)[0]
    model = entry["id"]
    completion = _client(server, dialect, mount).chat.completions.create(model=model, messages=_messages(dialect))
    # OpenAI answers an alias as its dated snapshot; the other providers echo the id asked for
    assert completion.model == (entry.get("snapshot", model) if dialect == "openai" else model)
    assert completion.choices[0].message.content


@pytest.mark.parametrize("dialect", ["serika", "openserv", "samurai"])
def test_unknown_model_is_404(server: MockServer, dialect: str) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        _client(server, dialect).chat.completions.create(model="made-up-model-9", messages=_messages(dialect))
    assert raised.value.code == "model_not_found" and raised.value.param == "model"


def test_openai_dialect_serves_any_model(server: MockServer) -> None:
    completion = _client(server, "openai").chat.completions.create(model="my-finetune-2", messages=HELLO)
    assert completion.model == "my-finetune-2"


def test_serika_character_persona(server: MockServer) -> None:
    client = _client(server, "serika")
    openers = {"12345": ("*Aria glances up", "*Aria grins*"), "23456": ("*Professor Hale", "*Hale leans")}
    for character_id, starts in openers.items():
        for text in ("Hello!", "What is a nebula?", "Good morning"):
            reply = client.chat.completions.create(
                model="sao10k/l3.3-euryale-70b", messages=[{"role": "user", "content": text}],
                extra_body={"character_id": character_id},
            )
            assert reply.choices[0].message.content.startswith(starts)
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="openai/gpt-4o-mini", messages=HELLO, extra_body={"character_id": "0"})
    assert raised.value.code == "character_not_found" and raised.value.param == "character_id"


def test_character_id_is_serika_only(server: MockServer) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        _client(server, "openai").chat.completions.create(
            model="gpt-4o", messages=HELLO, extra_body={"character_id": "12345"}
        )
    assert "character_id" in raised.value.message


def test_openserv_requires_a_system_or_developer_message(server: MockServer) -> None:
    client = _client(server, "openserv")
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-5.4-mini", messages=HELLO)
    assert raised.value.param == "messages"
    developer = [{"role": "developer", "content": "Be brief."}, *HELLO]
    assert client.chat.completions.create(model="gpt-5.4-mini", messages=developer).choices


def test_openserv_accepts_unknown_parameters(server: MockServer) -> None:
    """OpenServ forwards parameters it does not know; SamuraiAPI refuses them, as OpenAI does."""
    extra = {"provider_routing": {"order": ["a"]}, "top_k": 5}
    openserv = _client(server, "openserv").with_options(default_headers={"X-Mock-Test-Id": "openserv-unknown"})
    completion = openserv.chat.completions.create(model="gpt-5.4-mini", messages=SYSTEM + HELLO, extra_body=extra)
    assert completion.choices[0].message.content and completion.choices[0].finish_reason == "stop"
    (sent,) = server.wait_for_requests(1, test_id="openserv-unknown")
    assert sent.dialect == "openserv" and sent.status == 200 and sent.body["provider_routing"] == {"order": ["a"]}
    with pytest.raises(openai.BadRequestError) as refused:
        _client(server, "samurai").chat.completions.create(model="gpt-4o", messages=HELLO, extra_body=extra)
    prefix, _, names = refused.value.body["message"].partition(": ")
    assert prefix == "Unrecognized request arguments supplied" and set(names.split(", ")) == set(extra)


@pytest.mark.parametrize(
    "arguments, param",
    [
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"temperature": 2.5}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"presence_penalty": 2.1}, "presence_penalty"),
        ({"frequency_penalty": -2.5}, "frequency_penalty"),
        ({"n": 0}, "n"),
    ],
)
def test_samurai_parameter_limits(server: MockServer, arguments: dict, param: str) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        _client(server, "samurai").chat.completions.create(model="gpt-4o", messages=HELLO, **arguments)
    assert raised.value.param == param


def test_samurai_accepts_documented_edges(server: MockServer) -> None:
    completion = _client(server, "samurai").chat.completions.create(
        model="gpt-4o", messages=HELLO, stop=["a", "b", "c", "d"], temperature=2, top_p=1, presence_penalty=-2, n=2
    )
    assert len(completion.choices) == 2


def test_openai_rejects_an_unknown_argument_by_name(server: MockServer) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        _client(server, "openai").chat.completions.create(model="gpt-4o", messages=HELLO, extra_body={"foo_bar": 1})
    assert "foo_bar" in raised.value.message


def test_default_dialect_flag() -> None:
    with MockServer(dialect="samurai") as server:
        client = sdk_client(server.url)
        assert [model.id for model in client.models.list().data] == _catalog_ids("samurai")
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="gpt-5.4", messages=HELLO)
        with pytest.raises(openai.BadRequestError) as raised:
            client.chat.completions.create(model="gpt-4o", messages=HELLO, stop=["1", "2", "3", "4", "5"])
        assert raised.value.param == "stop"
        assert client.chat.completions.create(model="gpt-4o", messages=HELLO).model == "gpt-4o"
        openai_mount = sdk_client(server.url_for("openai"))
        moved = openai_mount.chat.completions.create(model="gpt-5.4", messages=HELLO)
        assert moved.choices, "the openai dialect stays reachable at /openai/v1"
