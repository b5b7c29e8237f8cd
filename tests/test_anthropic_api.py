"""The rest of Anthropic's API (files, the Admin API...) through the official ``anthropic`` SDK, over a socket:
the spec engine answers it from the operations vendored from the SDK (``schemas/anthropic/operations.json``), on
Anthropic's wire. The SDK runs with strict response validation, so every answer is checked against its types."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from mockserver import MockServer

from helpers import module_server

HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}


server = module_server(seed=7)


@pytest.fixture()
def mock(server: MockServer) -> Iterator[MockServer]:
    yield server
    server.reset()


@pytest.fixture(params=["/anthropic", ""], ids=["own-mount", "default-mount"])
def client(mock: MockServer, request: pytest.FixtureRequest) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=mock.origin + request.param, api_key="sk-ant-test", max_retries=0,
                               _strict_response_validation=True)


def test_a_file_round_trips_and_is_not_openai_s(client: anthropic.Anthropic, mock: MockServer) -> None:
    uploaded = client.files.upload(file=("notes.txt", b"three little words", "text/plain"))
    assert uploaded.id.startswith("file_") and uploaded.type == "file"
    assert (uploaded.filename, uploaded.size_bytes, uploaded.mime_type) == ("notes.txt", 18, "text/plain")
    assert uploaded.created_at.year >= 2024
    assert client.files.retrieve_metadata(uploaded.id) == uploaded
    assert [listed.id for listed in client.files.list()] == [uploaded.id]
    assert client.files.download(uploaded.id).read() == b"three little words"
    # OpenAI's files on the same default mount are another API's
    assert openai.OpenAI(base_url=mock.url, api_key="sk-test").files.list().data == []
    deleted = client.files.delete(uploaded.id)
    assert (deleted.id, deleted.type) == (uploaded.id, "file_deleted")
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.files.retrieve_metadata(uploaded.id)
    assert missing.value.body == {"type": "error", "error": {
        "type": "not_found_error", "message": f"file_id: No file found with id '{uploaded.id}'."}}
    assert missing.value.response.headers["request-id"].startswith("req_")


def test_workspaces_live_through_create_update_archive_and_pages(client: anthropic.Anthropic) -> None:
    workspaces = client.organization.workspaces
    made = [workspaces.create(name=f"team {index}", tags={"n": str(index)}) for index in range(5)]
    assert [workspace.name for workspace in made] == [f"team {index}" for index in range(5)]
    assert all(workspace.archived_at is None for workspace in made)
    assert len({workspace.id for workspace in made}) == 5
    first = workspaces.list(limit=2)
    newest_first = [workspace.id for workspace in reversed(made)]
    assert [workspace.id for workspace in first.data] == newest_first[:2]
    assert (first.has_more, first.first_id, first.last_id) == (True, newest_first[0], newest_first[1])
    assert [workspace.id for workspace in workspaces.list(limit=2)] == newest_first  # the SDK follows after_id
    before = workspaces.list(limit=2, before_id=newest_first[3])
    assert [workspace.id for workspace in before.data] == newest_first[1:3]
    renamed = workspaces.update(made[0].id, name="renamed")
    assert renamed.name == "renamed" and workspaces.retrieve(made[0].id).name == "renamed"
    archived = workspaces.archive(made[0].id)
    assert archived.archived_at is not None and archived.name == "renamed"


def test_a_page_token_walks_a_cursor_page(client: anthropic.Anthropic) -> None:
    groups = client.organization.rbac_groups
    made = [groups.create(name=f"group {index}").id for index in range(5)]
    page = groups.list(limit=2)
    assert page.next_page == made[3]
    assert [group.id for group in groups.list(limit=2)] == made[::-1]  # the SDK follows next_page as ``page``
    last = groups.list(limit=2, page=made[1])
    assert [group.id for group in last.data] == [made[0]] and last.next_page is None


def test_bad_input_is_a_400_in_anthropic_s_words_naming_the_field(mock: MockServer) -> None:
    answer = httpx.post(mock.origin + "/anthropic/v1/organizations/workspaces", json={"nam": "x"}, headers=HEADERS)
    assert answer.status_code == 400
    assert answer.json() == {"type": "error", "error": {"type": "invalid_request_error",
                                                       "message": "name: Field required"}}
    typed = httpx.post(mock.origin + "/anthropic/v1/organizations/users/user_1", json={"role": "emperor"},
                       headers=HEADERS)
    assert typed.status_code == 400 and typed.json()["error"]["message"].startswith("role: ")
    assert "emperor" in typed.json()["error"]["message"]
    unversioned = httpx.get(mock.origin + "/anthropic/v1/files", headers={"x-api-key": "sk-ant-test"})
    assert unversioned.status_code == 400 and "anthropic-version" in unversioned.json()["error"]["message"]
