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
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import openai

SDK_VERSION = openai.__version__
SDK_TEST_FILES = (
    "tests/api_resources/chat/test_completions.py",
    "tests/api_resources/chat/completions/test_messages.py",
    "tests/api_resources/test_models.py",
    "tests/api_resources/test_images.py",
    "tests/api_resources/test_embeddings.py",
)


def fetch_sdk_tests(workdir: Path) -> Path:
    """Download and unpack the openai sdist of the installed version; return its root."""
    root = workdir / f"openai-{SDK_VERSION}"
    if (root / "pyproject.toml").is_file():
        return root
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         f"openai=={SDK_VERSION}", "--dest", str(workdir)],
        check=True,
    )
    with tarfile.open(workdir / f"openai-{SDK_VERSION}.tar.gz") as archive:
        # The tests and the project file that configures pytest-asyncio for them.
        wanted = (f"openai-{SDK_VERSION}/pyproject.toml",)
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


def run_sdk_tests(root: Path, base_url: str) -> Outcome:
    """Run the selected SDK test files against ``base_url`` and collect every failure with its message."""
    env = {**os.environ, "TEST_API_BASE_URL": base_url}
    report = Path(tempfile.mkdtemp(prefix="sdk-report-")) / "report.xml"  # one per run: runs may overlap
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:mockserver", "-n", "2",
         "-o", "addopts=", f"--junitxml={report}", *SDK_TEST_FILES],
        cwd=root, env=env, capture_output=True, text=True, timeout=900,
    )
    failures, passed = {}, 0
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is None:
            passed += case.find("skipped") is None
            continue
        test_id = f"{case.get('classname', '').replace('.', '/')}::{case.get('name')}"
        failures[test_id] = f"{problem.get('message', '')}\n{problem.text or ''}"
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-500:]
    return Outcome(summary, passed, failures, result.stdout)


if __name__ == "__main__":
    from mockserver import MockServer

    with MockServer(validation="schema") as server:
        outcome = run_sdk_tests(fetch_sdk_tests(Path(sys.argv[1] if len(sys.argv) > 1 else "build/sdk")), server.url)
    for test_id, message in outcome.failures.items():
        print("FAILED", test_id, "-", message.splitlines()[0][:200])
    print(outcome.summary)
