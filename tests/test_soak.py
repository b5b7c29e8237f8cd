"""A short soak (``bench/soak.py``): 2,000 requests, 10 % with faults of every kind and 15 % hostile, over a real
socket.

The full run (100,000 requests) is ``python bench/soak.py``; its numbers are in the README.
"""

from __future__ import annotations

import pytest

from helpers import bench_module


@pytest.mark.slow
def test_short_soak_with_every_fault() -> None:
    soak = bench_module("soak")
    result = soak.soak(requests=2000, concurrency=16, fault_share=0.1, hostile_share=0.15, seed=3)
    assert result["unexpected"] == 0, result["unexpected_examples"]
    kinds = {fault.split(";")[0] for fault, *_ in soak.FAULTS}
    assert kinds <= set(result["outcomes"]), f"faults never drawn: {kinds - set(result['outcomes'])}"
    # Each hostile kind but the rarest (a 32 MiB body, weight 1) is drawn ~10 times or more in 300.
    hostile = {label for label, weight, *_ in soak.HOSTILE if weight > 1} | soak.HOSTILE_LABELS - {
        label for label, *_ in soak.HOSTILE}
    assert hostile <= set(result["outcomes"]), f"hostile requests never drawn: {hostile - set(result['outcomes'])}"
    assert 100 <= result["faulted"] <= 300 and 200 <= result["hostile"] <= 400 and result["healthy_after"]
    assert result["journal_entries"] <= result["journal_size"]
    assert result["rss_max_kib"] <= result["rss_bound_kib"], result
    # Warm once the journal is full; what little moves after that is allocator noise, not growth per request.
    assert result["rss_growth_after_warm_kib"] < 32 * 1024, result
