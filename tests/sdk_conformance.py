"""Run the official openai-python package's own generated API tests against mockserver.

The openai sdist ships ``tests/api_resources/…``: tests generated from the
OpenAPI spec that call every endpoint with minimal and with all parameters and
check the parsed types, pointed at any server by ``TEST_API_BASE_URL``. They
are an oracle for shape fidelity that this project did not write.

Usage: ``python tests/sdk_conformance.py [WORKDIR]`` prints the pytest summary;
``tests/test_sdk_conformance.py`` runs it in the suite.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.etree import ElementTree

import openai

from helpers import without_plugins

SDK_VERSION = openai.__version__
HAND_WRITTEN_FILES = (
    "tests/api_resources/chat/test_completions.py",
    "tests/api_resources/chat/completions/test_messages.py",
    "tests/api_resources/test_models.py",
    "tests/api_resources/test_images.py",
    "tests/api_resources/test_embeddings.py",
)
"""The SDK tests of the operations the mock implements by hand, with their depth."""
ALL_TESTS = ("tests/api_resources",)
SUITE_ONLY_PLUGINS = without_plugins("mockserver", "schemathesis", "hypothesispytest", "faker", "langsmith_plugin")
"""The pytest plugins this project's environment has and the SDK's tests never use."""


def fetch_sdk_tests(workdir: Path, package: str = "openai", version: str = SDK_VERSION) -> Path:
    """Download and unpack the sdist of ``package`` at ``version`` (the installed openai by default); return its
    root."""
    root = workdir / f"{package}-{version}"
    if (root / "pyproject.toml").is_file():
        return root
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         f"{package}=={version}", "--dest", str(workdir)],
        check=True,
    )
    with tarfile.open(workdir / f"{package}-{version}.tar.gz") as archive:
        # The tests and the project file that configures pytest-asyncio for them.
        wanted = (f"{package}-{version}/pyproject.toml",)
        members = [
            member for member in archive.getmembers()
            if ("/tests/" in member.name or member.name in wanted) and _plain_member(member)
        ]
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4+
            archive.extractall(workdir, members=members, filter="data")
        else:  # older 3.11 (Debian's 3.11.2): every member was checked by _plain_member
            archive.extractall(workdir, members=members)
    return root


def _plain_member(member: tarfile.TarInfo) -> bool:
    """A file or folder that stays inside the extraction folder (what the "data" filter allows, for these)."""
    parts = Path(member.name).parts
    return (member.isfile() or member.isdir()) and not member.name.startswith("/") and ".." not in parts


@dataclass
class Outcome:
    summary: str
    passed: int
    failures: dict[str, str]  # test id -> failure message
    output: str
    passed_ids: list[str]


def run_sdk_tests(root: Path, base_url: str, files: tuple[str, ...] = ALL_TESTS) -> Outcome:
    """Run the SDK's tests in ``files`` against ``base_url`` and collect every failure with its message."""
    env = {**os.environ, "TEST_API_BASE_URL": base_url}
    report = Path(tempfile.mkdtemp(prefix="sdk-report-")) / "report.xml"  # one per run: runs may overlap
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *without_plugins("cacheprovider"), "-n", "2", *SUITE_ONLY_PLUGINS,
         "-o", "addopts=", f"--junitxml={report}", *files],
        cwd=root, env=env, capture_output=True, text=True, timeout=1200,
    )
    failures, passed = {}, []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        test_id = f"{case.get('classname', '').replace('.', '/')}::{case.get('name')}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is None:
            if case.find("skipped") is None:
                passed.append(test_id)
            continue
        failures[test_id] = f"{problem.get('message', '')}\n{problem.text or ''}"
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-500:]
    return Outcome(summary, len(passed), failures, result.stdout, passed)


_UNKNOWN_URL = re.compile(r"Invalid URL \((\w+) /v1(/[^)\s]*)\)|Method (\w+) is not allowed for /v1(/\S+?)\.")
_TEST_NAME = re.compile(r"Test(?:Async)?(\w+)::test_(?:method_|raw_response_|streaming_response_|path_params_)?(\w+?)"
                        r"(?:_with_all_params)?(?:_overload_\d+)?\[")


def unanswered(outcome: Outcome) -> dict[str, tuple[str, str]]:
    """The failed tests whose operation the mock does not have at all: test id -> (method, path).

    Their 404 ``unknown_url`` (or 405) names the path; each is checked against every operation the mock
    serves, so an answered one is never excused.
    """
    from mockserver.endpoints.engine.operations import load_operations

    operations = load_operations()
    found = {}
    for test_id, message in outcome.failures.items():
        match = _UNKNOWN_URL.search(message)
        if match is None:
            continue
        method, path = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        if not any(operation.method == method and operation.pattern.match(path) for operation in operations):
            found[test_id] = (method, path)
    return found


def beyond_the_spec(test_id: str) -> bool:
    """Whether a test calls an operation the pinned spec does not document: one the mock answers from the
    SDK's own types (``schemas/openai/sdk-operations.json``), named by the test's resource class and method."""
    match = _TEST_NAME.search(test_id)
    if match is None:
        return False
    resource, method = match.groups()
    # tests/api_resources/beta/agents/test_sessions/TestSessions::... tests the resource module
    # beta.agents.sessions (or the package's own module, beta.agents.sessions.sessions)
    module = [part.removeprefix("test_") for part in test_id.split("::")[0].split("/")[2:-1]]
    names = {".".join(module), ".".join([*module, module[-1]])}
    return any(f"sdk.{name}.{resource}.{method}" in _sdk_operation_ids() for name in names)


@cache
def _sdk_operation_ids() -> frozenset[str]:
    from mockserver.endpoints.engine.operations import load_operations

    return frozenset(operation.id for operation in load_operations() if operation.id.startswith("sdk."))


@dataclass
class Tally:
    """An outcome's tests by what they call: the pinned spec's operations, or those beyond it."""

    pinned_passed: int
    pinned_failed: int
    beyond_passed: int
    beyond_failed: int  # with the tests of operations the mock does not have
    absent: dict[str, tuple[str, str]]

    @property
    def pinned_share(self) -> float:
        return self.pinned_passed / max(1, self.pinned_passed + self.pinned_failed)

    @property
    def beyond_share(self) -> float:
        return self.beyond_passed / max(1, self.beyond_passed + self.beyond_failed)


def tally(outcome: Outcome) -> Tally:
    absent = unanswered(outcome)
    beyond_passed = sum(beyond_the_spec(test_id) for test_id in outcome.passed_ids)
    beyond_failed = sum(beyond_the_spec(test_id) or test_id in absent for test_id in outcome.failures)
    return Tally(outcome.passed - beyond_passed, len(outcome.failures) - beyond_failed, beyond_passed, beyond_failed,
                 absent)


def family(test_id: str) -> str:
    """``tests/api_resources/vector_stores/test_files/TestAsyncFiles::...`` -> ``vector_stores/files``."""
    parts = test_id.split("::")[0].split("/")[2:-1]
    return "/".join(part.removeprefix("test_") for part in parts)


if __name__ == "__main__":
    from mockserver import MockServer

    with MockServer(validation="schema") as server:
        outcome = run_sdk_tests(fetch_sdk_tests(Path(sys.argv[1] if len(sys.argv) > 1 else "build/sdk")), server.url)
    absent = unanswered(outcome)
    totals: dict[str, list[int]] = {}
    for test_id in outcome.passed_ids:
        totals.setdefault(family(test_id), [0, 0, 0, 0])[2 if beyond_the_spec(test_id) else 0] += 1
    for test_id, message in outcome.failures.items():
        counts = totals.setdefault(family(test_id), [0, 0, 0, 0])
        counts[3 if beyond_the_spec(test_id) or test_id in absent else 1] += 1
        print("FAILED", test_id, "-", message.splitlines()[0][:200])
    print("family | pinned spec: passed | failed | beyond it (SDK types): passed | failed")
    for name, (ok, failed, beyond_ok, beyond_failed) in sorted(totals.items()):
        print(f"{name} | {ok} | {failed} | {beyond_ok} | {beyond_failed}")
    counted = tally(outcome)
    print(f"{outcome.summary}; pinned-spec operations: {counted.pinned_passed}/"
          f"{counted.pinned_passed + counted.pinned_failed} passed ({counted.pinned_share:.1%}); beyond it: "
          f"{counted.beyond_passed}/{counted.beyond_passed + counted.beyond_failed} ({counted.beyond_share:.1%}); "
          f"{len(absent)} tests call operations the mock does not have")
