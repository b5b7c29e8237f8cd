"""``bench/instructions.py``'s client: each scenario's request, numbered, answered on one kept-alive connection.

The count itself runs the server under valgrind (``python bench/instructions.py``, about a minute); what it sends
and how it reads the answers (sized and chunked) are checked here against a real server on loopback.
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
