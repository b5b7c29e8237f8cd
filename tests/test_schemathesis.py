"""schemathesis against the mock's own ``/openapi.json``, over a real socket.

Every operation of every dialect (one mount each: ``/v1`` and ``/api/openai/v1``
are aliases of ``/openai/v1`` and ``/serika/api/openai/v1``) and the read-only
admin API get generated requests with a Bearer key; every answer must be a
non-5xx that conforms to the document (status, content type, headers, body,
and SSE events for streams). ``POST /_mock/script`` is left out: a generated
script could legitimately ask the mock for a 5xx or a hang, and ``GET /_mock/events``, the sandbox's live feed,
never ends by design. Bounded by
``max_examples`` so it stays well under 90 s on two cores; the run is split in
three tests so pytest-xdist can spread them over its workers.

The schema is loaded with ``from_dict`` at collection time (the document the
server is checked to serve, below): schemathesis' lazy ``from_fixture`` loader
writes ``Node._nodeid``, which pytest 9.2 no longer has.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mockserver import MockServer
from mockserver.app import create_app
from mockserver.app.openapi import SPEC_TAG
from mockserver.config import Config

pytestmark = pytest.mark.server_thread_coverage  # the generator runs in the test's thread, the mock in its server's
API_KEY = "sk-schemathesis"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("MOCKSERVER_FUZZ_EXAMPLES", "10")),  # raise it for a deeper local run
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
ALIASES = r"^/(v1|api/openai/v1|v1beta|gemini/v1|api)/"  # and Gemini's and Ollama's other mounts
SETTINGS = {"seed": 11, "journal_size": 100, "job_schedule": "0,0"}
DOCUMENT = create_app(Config(**SETTINGS)).state.openapi.document


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[MockServer]:
    with MockServer(**SETTINGS) as server:
        assert httpx2.get(server.origin + "/openapi.json").json() == DOCUMENT
        yield server


# The coverage phase walks every boundary of a body's schema: some 1,400 requests for a chat body, 450 for an
# image one. It runs once per schema: the other dialects' chat bodies (OpenAI's plus a small overlay) and
# Serika's two other routes taking the image-generation body get the fuzzing phase only.
SAME_BODY_AGAIN = (
    r"^POST /((serika/api/openai|openserv|samurai)/v1/chat/completions"
    r"|serika/api/openai/v1/(generate/text|generate/image|jobs/image))$"
)
# Anthropic's request schemas (from its SDK's types: 130 KB, every content block and tool of the API) would take
# the coverage phase minutes; they get the fuzzing phase, and the SDK's own tests walk their fields
# (test_sdk_conformance.py). So do Gemini's (235 KB, every field under both spellings) and Ollama's.
VENDORED_BODIES = r"^POST /(anthropic/v1/messages|gemini/v1beta/models|ollama/api/)"
PHASES = schemathesis.Config.from_dict({"operations": [
    {"include-name-regex": SAME_BODY_AGAIN, "phases": {"coverage": {"enabled": False}}},
    {"include-name-regex": VENDORED_BODIES, "phases": {"coverage": {"enabled": False}}},
]})
schema = schemathesis.openapi.from_dict(DOCUMENT, config=PHASES).exclude(path_regex=ALIASES)
schema = schema.exclude(path="/_mock/script", method="POST")
schema = schema.exclude(path="/_mock/events")  # the sandbox's live feed never ends by design (test_sandbox.py)


def _call(case: schemathesis.Case, server: MockServer) -> None:
    case.call_and_validate(
        base_url=server.origin, headers={"Authorization": f"Bearer {API_KEY}"}, checks=CHECKS, timeout=30
    )


hand_written = schema.exclude(tag=SPEC_TAG)


@hand_written.include(tag="openai", path_regex="/chat/completions").parametrize()
@FUZZ_SETTINGS
def test_openai_chat_and_stored_completions_conform(case: schemathesis.Case, fuzzed: MockServer) -> None:
    _call(case, fuzzed)


@hand_written.include(tag="openai").exclude(path_regex="/chat/completions").parametrize()
@FUZZ_SETTINGS
def test_openai_models_embeddings_and_images_conform(case: schemathesis.Case, fuzzed: MockServer) -> None:
    _call(case, fuzzed)


@hand_written.exclude(tag="openai").parametrize()
@FUZZ_SETTINGS
def test_other_dialects_and_admin_conform(case: schemathesis.Case, fuzzed: MockServer) -> None:
    _call(case, fuzzed)


SPEC_SETTINGS = settings(FUZZ_SETTINGS, max_examples=int(os.environ.get("MOCKSERVER_SPEC_FUZZ_EXAMPLES", "3")))
SPEC_PHASES = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
spec_engine = schemathesis.openapi.from_dict(DOCUMENT, config=SPEC_PHASES).exclude(path_regex=ALIASES)


@spec_engine.include(tag=SPEC_TAG).parametrize()
@SPEC_SETTINGS
def test_spec_engine_operations_conform(case: schemathesis.Case, fuzzed: MockServer) -> None:
    """The operations the spec engine answers, from the spec's own schemas: examples and a short fuzz each."""
    _call(case, fuzzed)
