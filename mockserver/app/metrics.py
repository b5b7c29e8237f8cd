"""``GET /metrics``: what the mock did, in Prometheus text format (``prometheus-client``), off with ``--no-metrics``.

Requests by dialect, endpoint, model and status; faults by name; time to first byte, gaps between stream
chunks and whole durations; tokens in and out; 429s by bucket; WebSocket sessions open and their events; journal,
script and store sizes. Each app has
a registry of its own, so several servers in one process never mix their numbers.

The hot path only adds to plain counters, as the journal's listener, once per finished exchange on the
server's loop (a dict increment, a bisect per histogram value); ``prometheus-client`` turns them into its
metric families when scraped. Its own ``Counter.labels().inc()`` cost 8 µs a request, 38 µs a stream.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from mockserver.journal import Exchange, Journal
    from mockserver.storage import Stores

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MAX_MODELS = 64
MAX_LABEL_CHARS = 64
"""A model label's length: a client's megabyte model name is one short label, so a scrape stays small."""
"""Distinct model labels kept; later ones count as ``other``, so a client sending random model ids cannot grow
the registry without bound."""


class _Histogram:
    """Counts per bucket (the last one is +Inf), and the sum, as Prometheus histograms want them."""

    def __init__(self) -> None:
        self.counts = [0] * (len(SECONDS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(SECONDS, seconds)] += 1
        self.total += seconds

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        cumulative = list(itertools.accumulate(self.counts))
        buckets = [(str(bound), count) for bound, count in zip(SECONDS, cumulative, strict=False)]
        buckets.append(("+Inf", cumulative[-1]))
        return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=self.total)


class Metrics(Collector):
    def __init__(self, journal: Journal, pending_scripts: Callable[[], int], stores: Stores) -> None:
        self.journal = journal
        self.pending_scripts = pending_scripts
        self.stores = stores
        self.requests: Counter[tuple[str, str, str, str]] = Counter()
        self.faults: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()
        self.tokens: Counter[str] = Counter()
        self.socket_events: Counter[str] = Counter()
        self.first_byte = _Histogram()
        self.duration = _Histogram()
        self.chunk_gap = _Histogram()
        self._models: set[str] = set()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def observe(self, exchange: Exchange) -> None:
        if exchange.admin:
            return
        model = (exchange.model or "")[:MAX_LABEL_CHARS]
        if model not in self._models:
            model = "other" if len(self._models) >= MAX_MODELS else model
            self._models.add(model)
        self.requests[(exchange.dialect or "", exchange.endpoint or "", model, str(exchange.status or 0))] += 1
        for fault in exchange.faults:
            self.faults[fault.split(";", 1)[0]] += 1
        if exchange.status == 429:
            self.rate_limited[_bucket(exchange.decided_by)] += 1
        if exchange.status == 101:  # a WebSocket session: the events each way
            self.socket_events["sent"] += exchange.chunks_sent
            received = exchange.body.get("received") if isinstance(exchange.body, dict) else None
            self.socket_events["received"] += received if isinstance(received, int) else 0
        if exchange.tokens_in is not None:
            self.tokens["in"] += exchange.tokens_in
        if exchange.tokens_out is not None:
            self.tokens["out"] += exchange.tokens_out
        if exchange.first_byte_ms is not None:
            self.first_byte.observe(exchange.first_byte_ms / 1000)
        if exchange.duration_ms is not None:
            self.duration.observe(exchange.duration_ms / 1000)
        if exchange.stream:
            parts = exchange.response_parts
            for (earlier, _), (later, _) in itertools.pairwise(parts):
                self.chunk_gap.observe((later - earlier) / 1000)

    def text(self) -> bytes:
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily("mockserver_requests", "Requests answered",
                                       labels=("dialect", "endpoint", "model", "status"))
        for labels, count in self.requests.items():
            requests.add_metric(labels, count)
        yield requests
        yield _counter("mockserver_faults", "Faults injected, by name", "fault", self.faults)
        yield _counter("mockserver_rate_limited", "429s answered, by bucket", "bucket", self.rate_limited)
        yield _counter("mockserver_tokens", "Tokens counted, in (prompt) and out (completion)", "direction",
                       self.tokens)
        yield self.first_byte.family("mockserver_time_to_first_byte_seconds", "From the request to the status line")
        yield self.duration.family("mockserver_request_duration_seconds", "From the request to its last byte")
        yield self.chunk_gap.family("mockserver_stream_chunk_gap_seconds", "Between two chunks of a stream")
        yield _counter("mockserver_websocket_events", "Events of finished WebSocket sessions (the Realtime API), "
                       "sent and received", "direction", self.socket_events)
        yield _gauge("mockserver_websocket_sessions_open", "WebSocket sessions accepted and not yet ended",
                     sum(1 for exchange in self.journal.live() if exchange.status == 101))
        yield _gauge("mockserver_journal_entries", "Exchanges the journal holds", len(self.journal))
        yield _gauge("mockserver_journal_bytes", "Bytes the journal counts against --journal-bytes", self.journal.bytes)
        yield _gauge("mockserver_scripts_pending", "Scripted behaviours waiting", self.pending_scripts())
        stored = GaugeMetricFamily("mockserver_store_entries", "Entries each store holds (bounded by --store-bytes)",
                                   labels=("store",))
        stored.add_metric(["completions"], self.stores.completions.count())
        stored.add_metric(["jobs"], self.stores.jobs.count())
        stored.add_metric(["resources"], self.stores.resources.count())
        yield stored


def _bucket(decided_by: str | None) -> str:
    """A 429's label: the rate limiter's bucket (``requests``, ``tokens``), else the kind of what answered it
    (``script``, ``header``, ``fixture``, ``chaos``, ``cassette``), never a script's own number."""
    if decided_by is None:
        return "fault"
    if decided_by.startswith("rate limit ("):
        return decided_by.removeprefix("rate limit (").rstrip(")")
    return decided_by.split(" ", 1)[0].split(":", 1)[0][:MAX_LABEL_CHARS] or "fault"


def _counter(name: str, documentation: str, label: str, counts: Counter[str]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=(label,))
    for value, count in counts.items():
        family.add_metric([value], count)
    return family


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family
