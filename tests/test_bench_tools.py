"""The bench's counting tools against a real server on loopback.

``bench/instructions.py`` runs the server under valgrind (about a minute a checkout): what it sends and how it
reads the answers (sized and chunked) are checked here. ``bench/python_work.py`` traces the server's thread: a
same-text chat request, the benchmark's peer row, raises no exception and makes none of its per-request records
through a class call (each costs a few percent: sessions 16-17 took them out; this keeps them out).
"""

from __future__ import annotations

from pathlib import Path

from mockserver import MockServer

from helpers import bench_module


def test_every_scenario_is_answered_with_its_status_on_one_kept_alive_connection(tmp_path: Path) -> None:
    instructions = bench_module("instructions")
    fixtures, _ = instructions.same_text_fixtures(tmp_path)
    with MockServer(fixtures=[str(fixtures)]) as server:
        assert server.port is not None
        connection = instructions.Connection(server.port)
        try:
            for number, (_, script, status, _) in enumerate(instructions.SCENARIOS * 2, start=1):
                assert connection.exchange(instructions.request_bytes(script, number)) == status, script
        finally:
            connection.close()
        prompts = [str(entry.body) for entry in server.wait_for_requests(2 * len(instructions.SCENARIOS))]
    assert len(prompts) == 2 * len(instructions.SCENARIOS)
    assert all(f"#{number}" in prompt for number, prompt in enumerate(prompts, start=1))


PER_REQUEST_RECORDS = {"Exchange", "RequestContext", "Call", "Decision", "Script", "Choice", "Completion",
                       "_ChoiceContext"}


def test_a_same_text_chat_request_raises_nothing_and_makes_its_records_without_class_calls() -> None:
    report = bench_module("python_work").traced("chat", 20)
    assert 2000 < report["bytecodes"] < 20000 and report["calls"] > 50
    assert "mockserver/app/pipeline.py" in report["modules"]
    every_request = {what: count for what, count in report["raised"].items() if count >= 1}
    assert not every_request, f"raised on every request: {every_request}"
    made = {what.split(" in ")[0] for what, count in report["made"].items() if count >= 1}
    assert "Transmission" in made  # what the tracer sees: a plain class call
    assert not made & PER_REQUEST_RECORDS, made & PER_REQUEST_RECORDS
