"""``GET /metrics``: what the mock did, in Prometheus text format (``prometheus-client``), off with ``--no-metrics``.

Counters and histograms are fed by the journal's listener as each exchange finishes, on the server's loop:
requests by dialect, endpoint, model and status; faults by name; time to first byte, gaps between stream
chunks and whole durations; tokens in and out; 429s by bucket. Journal and store sizes are read when
scraped. Each app has a registry of its own, so several servers in one process never mix their numbers.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from mockserver.journal import Exchange, Journal
    from mockserver.storage import Stores

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MAX_MODELS = 64
"""Distinct model labels kept; later ones count as ``other``, so a client sending random model ids cannot grow
the registry without bound."""


class Metrics:
    def __init__(self, journal: Journal, pending_scripts: Callable[[], int], stores: Stores) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("dialect", "endpoint", "model", "status")
        self.requests = Counter("mockserver_requests", "Requests answered", labels, registry=self.registry)
        self.faults = Counter("mockserver_faults", "Faults injected, by name", ("fault",), registry=self.registry)
        self.rate_limited = Counter("mockserver_rate_limited", "429s answered, by bucket", ("bucket",),
                                    registry=self.registry)
        self.tokens = Counter("mockserver_tokens", "Tokens counted, in (prompt) and out (completion)",
                              ("direction",), registry=self.registry)
        self.first_byte = Histogram("mockserver_time_to_first_byte_seconds", "From the request to the status line",
                                    buckets=SECONDS, registry=self.registry)
        self.duration = Histogram("mockserver_request_duration_seconds", "From the request to its last byte",
                                  buckets=SECONDS, registry=self.registry)
        self.chunk_gap = Histogram("mockserver_stream_chunk_gap_seconds", "Between two chunks of a stream",
                                   buckets=SECONDS, registry=self.registry)
        self.registry.register(_Sizes(journal, pending_scripts, stores))
        self._models: set[str] = set()

    def observe(self, exchange: Exchange) -> None:
        if exchange.admin:
            return
        model = exchange.model or ""
        if model not in self._models:
            model = "other" if len(self._models) >= MAX_MODELS else model
            self._models.add(model)
        self.requests.labels(exchange.dialect or "", exchange.endpoint or "", model,
                             str(exchange.status or 0)).inc()
        for fault in exchange.faults:
            self.faults.labels(fault.split(";", 1)[0]).inc()
        if exchange.status == 429:
            bucket = (exchange.decided_by or "").removeprefix("rate limit (").rstrip(")") or "fault"
            self.rate_limited.labels(bucket).inc()
        if exchange.tokens_in is not None:
            self.tokens.labels("in").inc(exchange.tokens_in)
        if exchange.tokens_out is not None:
            self.tokens.labels("out").inc(exchange.tokens_out)
        if exchange.first_byte_ms is not None:
            self.first_byte.observe(exchange.first_byte_ms / 1000)
        if exchange.duration_ms is not None:
            self.duration.observe(exchange.duration_ms / 1000)
        if exchange.stream:
            times = [at_ms for at_ms, _ in exchange.response_parts]
            for earlier, later in itertools.pairwise(times):
                self.chunk_gap.observe((later - earlier) / 1000)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class _Sizes(Collector):
    """The journal's and the stores' sizes, read at scrape time."""

    def __init__(self, journal: Journal, pending_scripts: Callable[[], int], stores: Stores) -> None:
        self.journal = journal
        self.pending_scripts = pending_scripts
        self.stores = stores

    def collect(self) -> Iterator[GaugeMetricFamily]:
        journal = self.journal
        entries = GaugeMetricFamily("mockserver_journal_entries", "Exchanges the journal holds")
        entries.add_metric([], len(journal))
        held = GaugeMetricFamily("mockserver_journal_bytes", "Bytes the journal counts against --journal-bytes")
        held.add_metric([], journal.bytes)
        scripts = GaugeMetricFamily("mockserver_scripts_pending", "Scripted behaviours waiting")
        scripts.add_metric([], self.pending_scripts())
        stored = GaugeMetricFamily("mockserver_store_entries", "Entries each store holds (bounded by --store-bytes)",
                                   labels=("store",))
        stored.add_metric(["completions"], self.stores.completions.count())
        stored.add_metric(["jobs"], self.stores.jobs.count())
        stored.add_metric(["resources"], self.stores.resources.count())
        yield from (entries, held, scripts, stored)
