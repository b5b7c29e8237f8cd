"""The Python control API of :class:`~mockserver.MockServer`: script behaviours, read the journal, assert.

It speaks the vocabulary of the control headers and the admin API, but acts
in-process on the server's control plane: the server runs in the test's own
process, so there is no HTTP round trip. Every scripting method builds the
behaviour a test would post to ``POST /_mock/script`` and hands it to the same
parser (:meth:`ScriptQueue.parse <mockserver.control.ScriptQueue.parse>`), so
a mistake raises :class:`~mockserver.faults.SpecError` at once, with the admin
API's message.

Scope: ``test_id`` names the test being served (the pytest plugin sets it
for each test through :meth:`Expectations.scope`). Behaviours scripted while
it is set answer only that test's requests: those sent with ``X-Mock-Test-Id:
<test_id>`` (the plugin's clients send it) and those sent with no test id at
all, which the wire layer labels with the current test, so application code
that builds its own client reaches the test's scripts too. The journal views
(``requests``, ``assert_called``) and the teardown checks (``verify``) read
the same scope. Without a test id, everything is global.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

import orjson

from mockserver.control.faults import SpecError
from mockserver.control.fixtures import Rule, load_rules, rules_from_mapping
from mockserver.control.plane import UNLIMITED, ScriptEntry, parse_scripts
from mockserver.journal import Exchange
from mockserver.messages import last_user_text

if TYPE_CHECKING:
    from mockserver.app.state import AppState

Times = int | Literal["unlimited"]

# Errors the SDK retries are scripted with this wait unless one is given, so retry tests take milliseconds.
FAST_RETRY_MS = 1
# What counts as "matched" in strict mode: the request was answered by something the test arranged.
ARRANGED = ("header", "script", "fixture")
# Criteria of assert_called() read straight off the journal record.
FIELDS = (
    "method", "path", "model", "stream", "status", "attempt", "dialect", "endpoint", "error_code",
    "decided_by", "ended", "test_id",
)
CRITERIA = (*FIELDS, "fault", "message_contains")
NEAR_MISSES_SHOWN = 10


class Expectations:
    """Scripting, journal and assertion methods of :class:`~mockserver.MockServer` (mixed into it)."""

    state: AppState
    dialect: str | None

    # ------------------------------------------------------------------ scope

    @property
    def test_id(self) -> str | None:
        """The test being served: scripts, unlabelled requests and the journal views belong to it."""
        return self.state.control.default_test_id

    @test_id.setter
    def test_id(self, value: str | None) -> None:
        self.state.control.default_test_id = value

    @contextmanager
    def scope(self, test_id: str, *, dialect: str | None = None) -> Iterator[Self]:
        """Serve one test: reset everything, then scope scripts and the journal to ``test_id``.

        ``dialect`` makes :attr:`url` that dialect's base URL for the test.
        One test at a time: a pytest worker runs its tests one after another.
        """
        if dialect is not None and dialect not in self.state.dialects:
            raise ValueError(f"unknown dialect {dialect!r}; known: {', '.join(self.state.dialects)}")
        self.test_id = None
        self.reset()
        self.test_id, self.dialect = test_id, dialect
        try:
            yield self
        finally:
            self.test_id = self.dialect = None

    @contextmanager
    def use_cassette(self, path: str | PathLike[str], *, mode: str = "none") -> Iterator[Self]:
        """Answer the current test's requests (every request, outside a test) from the cassette at ``path``.

        ``mode`` is ``none`` (replay only: a miss is a 404 naming the cassette and what differs), ``once``,
        ``new`` or ``all`` (record from the server's ``upstream``). :meth:`cassette_misses` tells what missed.
        """
        test_id = self.test_id
        self.state.cassettes.use(test_id, Path(path), mode)
        try:
            yield self
        finally:
            self._cassette_misses = self.state.cassettes.release(test_id)

    def cassette_misses(self) -> list[str]:
        """What the cassette could not answer: inside :meth:`use_cassette` so far, after it all of them."""
        live = self.state.cassettes.misses.get(self.test_id)
        return list(live) if live is not None else list(getattr(self, "_cassette_misses", []))

    def reset(self) -> None:
        """Forget scripts, recorded requests and added fixture rules (only this test's scripts and requests
        when a test is being served; with no test, also rate-limit buckets, the chaos sequence, stored
        completions, async jobs and deleted models)."""
        self.state.reset(self.test_id)

    # ------------------------------------------------------------------ time

    def advance(self, seconds: float) -> float:
        """Move the mock's clock ``seconds`` forward, as ``POST /_mock/clock`` does: a batch, a fine-tuning job,
        a background response or a Serika job reaches the status that many seconds bring, a rate-limit bucket
        refills, and new ``created`` stamps are that much later. Returns the clock's new unix time.

        ``mockserver.advance(60)`` instead of ``time.sleep(60)``. The clock only moves forward.
        """
        return self.state.advance_clock(seconds)

    def now(self) -> float:
        """What time the mock's clock says (unix seconds): frozen at 2025-01-01 under ``freeze_time``."""
        return self.state.read_clock().now()

    # ------------------------------------------------------------------ scripting

    def script(self, *behaviors: Mapping[str, Any]) -> list[ScriptEntry]:
        """Add behaviours given as data, exactly as ``POST /_mock/script`` takes them (all or none).

        ``mockserver.script({"fault": "rate_limit", "times": 2}, {"reply": "ok"})``
        """
        control = self.state.control
        entries = parse_scripts({"behaviors": [dict(behavior) for behavior in behaviors]}, self.test_id)
        control.scripts.add(entries)
        return entries

    def fault(
        self, name: str, *, times: Times = 1, match: Mapping[str, Any] | None = None, **params: Any
    ) -> ScriptEntry:
        """Any fault of the vocabulary with its parameters (``attempts=`` too), e.g.
        ``fault("error_event", after_chunks=3, code="overloaded")``. Parameters left out take the
        vocabulary's defaults."""
        return self._one({"fault": name, **params}, times, match)

    def fail(
        self,
        status: int = 500,
        *,
        message: str | None = None,
        type: str | None = None,
        code: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
        retry_after_ms: int | None = None,
        should_retry: bool | None = None,
        attempts: int | str | None = None,
        times: Times = 1,
        match: Mapping[str, Any] | None = None,
    ) -> ScriptEntry:
        """Answer with HTTP ``status`` in the OpenAI error envelope (the ``http_error`` fault).

        A status the SDK retries (408, 409, 429, 5xx) is sent with
        ``retry-after-ms: 1`` unless ``retry_after`` or ``retry_after_ms`` is
        given, so the SDK retries at once instead of backing off for seconds.
        ``body`` may be a mapping, sent as JSON instead of the envelope.
        """
        if retry_after is None and retry_after_ms is None and _retried(status):
            retry_after_ms = FAST_RETRY_MS
        if body is not None and not isinstance(body, str):
            body = orjson.dumps(body).decode()
        return self.fault(
            "http_error", status=status, message=message, type=type, code=code, body=body, retry_after=retry_after,
            retry_after_ms=retry_after_ms, should_retry=should_retry, attempts=attempts, times=times, match=match,
        )

    def rate_limit(
        self,
        *,
        retry_after: float | None = None,
        retry_after_ms: int | None = None,
        type: str | None = None,
        limit: int | None = None,
        attempts: int | str | None = None,
        times: Times = 1,
        match: Mapping[str, Any] | None = None,
    ) -> ScriptEntry:
        """A 429 ``rate_limit_exceeded`` with OpenAI's headers; waits ``retry-after-ms: 1`` unless told."""
        if retry_after is None and retry_after_ms is None:
            retry_after_ms = FAST_RETRY_MS
        return self.fault(
            "rate_limit", retry_after=retry_after, retry_after_ms=retry_after_ms, type=type, limit=limit,
            attempts=attempts, times=times, match=match,
        )

    def disconnect(
        self,
        *,
        after_chunks: int | None = None,
        after_bytes: int | None = None,
        attempts: int | str | None = None,
        times: Times = 1,
        match: Mapping[str, Any] | None = None,
    ) -> ScriptEntry:
        """Close the connection after N stream chunks (or N body bytes): ``APIConnectionError``."""
        return self.fault(
            "disconnect", after_chunks=after_chunks, after_bytes=after_bytes, attempts=attempts, times=times,
            match=match,
        )

    def truncate(
        self,
        *,
        after_chunks: int | None = None,
        attempts: int | str | None = None,
        times: Times = 1,
        match: Mapping[str, Any] | None = None,
    ) -> ScriptEntry:
        """End the stream cleanly after N chunks, without ``finish_reason`` or ``[DONE]``."""
        return self.fault("truncate", after_chunks=after_chunks, attempts=attempts, times=times, match=match)

    def stall(
        self,
        *,
        after_chunks: int | None = None,
        seconds: float | None = None,
        keep_alive: float | None = None,
        attempts: int | str | None = None,
        times: Times = 1,
        match: Mapping[str, Any] | None = None,
    ) -> ScriptEntry:
        """Send N chunks, then nothing for ``seconds`` with the socket open: a client read timeout fires. On a wire
        with a keep-alive frame (Anthropic's ``ping``), that frame every ``keep_alive`` seconds (10) of the quiet."""
        return self.fault(
            "stall", after_chunks=after_chunks, seconds=seconds, keep_alive=keep_alive, attempts=attempts,
            times=times, match=match,
        )

    def reply(self, text: str, *, times: Times = 1, match: Mapping[str, Any] | None = None) -> ScriptEntry:
        """Answer with exactly ``text`` (streamed token by token when the request streams)."""
        return self._one({"reply": text}, times, match)

    def tool_call(
        self,
        name: str,
        arguments: Mapping[str, Any] | str | None = None,
        *,
        times: Times = 1,
        match: Mapping[str, Any] | None = None,
    ) -> ScriptEntry:
        """Answer with a call to tool ``name``; without ``arguments`` they are generated from its schema."""
        call = {"name": name, "arguments": dict(arguments) if isinstance(arguments, Mapping) else arguments}
        return self._one({"tool_call": call}, times, match)

    def _one(self, spec: dict[str, Any], times: Times, match: Mapping[str, Any] | None) -> ScriptEntry:
        spec = {key: value for key, value in spec.items() if value is not None}
        spec["times"] = times
        if match is not None:
            spec["match"] = dict(match)
        try:
            (entry,) = self.script(spec)
        except SpecError as error:
            # The caller wrote one call, not a "behaviors" list: name the field from there.
            raise SpecError(error.message, error.path[2:]) from None
        return entry

    def add_fixture(self, *sources: str | PathLike[str] | Mapping[str, Any]) -> list[Rule]:
        """Serve fixture rules for this test, before the ``--fixtures`` ones, until the next reset.

        A source is a rule file or directory (YAML or JSON, as for
        ``--fixtures``), one rule as a mapping (``{"match": {...}, "reply":
        "..."}``) or a document ``{"rules": [...]}``. Mistakes raise at once:
        :class:`~mockserver.fixtures.FixtureError` (``file:line``) for files,
        :class:`SpecError` for mappings. Rules are not scoped by test id.
        """
        rules: list[Rule] = []
        for source in sources:
            if isinstance(source, Mapping):
                rules += rules_from_mapping(dict(source), "add_fixture")
            else:
                rules += load_rules([source]).rules
        self.state.control.add_rules(rules)
        return rules

    @property
    def scripts(self) -> list[ScriptEntry]:
        """This test's scripted behaviours that still have uses left, in the order they match."""
        return self.state.control.scripts.pending(self.test_id)

    # ------------------------------------------------------------------ the journal

    @property
    def requests(self) -> list[Exchange]:
        """The requests of this test, oldest first: what the client sent and what it got.

        Admin calls are left out; a request still in flight (a stream being
        read) is included with the fields known so far.
        """
        live = self.state.journal.live()  # before entries(): a request that ends in between is then in both
        test_id = self.test_id
        found = {
            exchange.id: exchange
            for exchange in (*self.state.journal_view.entries(), *live)
            if not exchange.admin and (test_id is None or exchange.test_id == test_id)
        }
        return [found[key] for key in sorted(found)]

    def wait_for_requests(self, count: int, timeout: float = 5.0, *, test_id: str | None = None) -> list[Exchange]:
        """The finished requests of this test (or of ``test_id``), once there are at least ``count``.

        A request is journaled when its response ends, which can be a moment
        after the client has read it (a stream's last frame, a cut connection):
        wait for it here rather than sleeping. An AssertionError after
        ``timeout`` seconds says how many arrived.
        """
        __tracebackhide__ = True
        wanted = test_id if test_id is not None else self.test_id
        journal = self.state.journal_view

        def finished(entries: list[Exchange]) -> list[Exchange]:
            return [entry for entry in entries if not entry.admin and (wanted is None or entry.test_id == wanted)]

        found = finished(journal.wait_until(lambda entries: len(finished(entries)) >= count, timeout))
        if len(found) < count:
            if not self.state.config.journal_size:
                raise AssertionError("the journal is off (journal_size=0): no request is ever recorded")
            shown = "".join(f"\n  {entry.summary}" for entry in found) or " none"
            raise AssertionError(f"waited {timeout:g} s for {_count(count, 'request')}; {len(found)} finished:{shown}")
        return found

    @property
    def last_request(self) -> Exchange:
        """The newest request of this test; an AssertionError says so when there is none."""
        __tracebackhide__ = True
        requests = self.requests
        if not requests:
            raise AssertionError(_NO_REQUESTS)
        return requests[-1]

    def assert_called(self, times: int | None = None, **criteria: Any) -> list[Exchange]:
        """Assert that ``times`` requests (at least one if None) of this test meet every criterion.

        Criteria: a journal field (``model``, ``path`` as a suffix, ``status``,
        ``stream``, ``attempt``, ``method``, ``dialect``, ``endpoint``,
        ``error_code``, ``decided_by``, ``ended``), ``fault`` (the name of a
        fault applied) or ``message_contains`` (the last user message,
        case-insensitive). The failure lists the nearest misses and how each
        differs. Returns the matching requests.
        """
        __tracebackhide__ = True
        unknown = sorted(criteria.keys() - set(CRITERIA))
        if unknown:
            raise TypeError(f"assert_called() has no criterion {unknown[0]!r}; criteria: {', '.join(CRITERIA)}")
        requests = self.requests
        matching = [request for request in requests if not _differences(request, criteria)]
        if (len(matching) >= 1) if times is None else (len(matching) == times):
            return matching
        raise AssertionError(_called_message(times, criteria, requests, matching))

    # ------------------------------------------------------------------ checks

    def verify(self, *, unused: bool = True, strict: bool = False) -> None:
        """Raise AssertionError if scripted behaviours with a finite ``times`` were not used up (``unused``),
        or, with ``strict``, if a request was answered by nothing the test arranged (no script, fixture
        rule or control header). The pytest plugin calls this when a test passes."""
        __tracebackhide__ = True
        problems = []
        if unused:
            left = [entry for entry in self.scripts if entry.remaining is not None]
            if left:
                lines = [f"  script #{entry.id} {_spec(entry)}: {_left(entry)}" for entry in left]
                problems.append(
                    f"{_count(len(left), 'scripted behaviour')} of this test {'was' if len(left) == 1 else 'were'} "
                    "not used up:\n" + "\n".join(lines) + "\n"
                    "The code under test made fewer matching requests than scripted. Lower times=, use "
                    'times="unlimited" for a behaviour that may not be needed, or turn this check off with '
                    "@pytest.mark.mockserver(check_unused=False)."
                )
        requests = self.requests
        if strict:
            loose = [request for request in requests if not (request.decided_by or "").startswith(ARRANGED)]
            if loose:
                problems.append(
                    f"strict mode: {_count(len(loose), 'request')} {'was' if len(loose) == 1 else 'were'} not "
                    "matched by any script, fixture rule or control header:\n"
                    + "\n".join(f"  {request.summary}" for request in loose) + "\n"
                    "Script an answer for each (mockserver.reply(...), .fail(...), .add_fixture(...)), or drop "
                    "strict=True if generated replies are fine here."
                )
        if problems:
            seen = "\n".join(f"  {request.summary}" for request in requests) or "  (none)"
            raise AssertionError(
                "mockserver: " + "\n\n".join(problems) + f"\n\nRequests of this test ({len(requests)}):\n" + seen
            )


_NO_REQUESTS = (
    "no request has reached the mock in this test. Is the code under test pointed at mockserver.url? "
    "Code that builds its own client follows OPENAI_BASE_URL: use @pytest.mark.mockserver(export_env=True)."
)


def _retried(status: Any) -> bool:
    return isinstance(status, int) and (status in (408, 409, 429) or status >= 500)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _spec(entry: ScriptEntry) -> str:
    return "(" + ", ".join(f"{key}={value!r}" for key, value in entry.spec.items() if key != "times") + ")"


def _left(entry: ScriptEntry) -> str:
    times = entry.spec.get("times", 1)
    return f"{entry.remaining} of times={times} left" if times != UNLIMITED else "unlimited"


def _value(exchange: Exchange, key: str) -> Any:
    if key == "fault":
        return [label.partition(";")[0] for label in exchange.faults]
    if key == "message_contains":
        body = exchange.body if isinstance(exchange.body, dict) else {}
        messages = body.get("messages")
        return last_user_text([m for m in messages if isinstance(m, dict)]) if isinstance(messages, list) else ""
    return getattr(exchange, key)


def _differences(exchange: Exchange, criteria: Mapping[str, Any]) -> list[str]:
    """How ``exchange`` differs from ``criteria``: ``model='gpt-4o-mini'`` per criterion it misses."""
    missed = []
    for key, wanted in criteria.items():
        value = _value(exchange, key)
        if key == "path":
            ok = value == wanted or value.endswith(wanted)
        elif key == "fault":
            ok = wanted in value
            key = "faults"
        elif key == "message_contains":
            ok = str(wanted).lower() in value.lower()
            key = "last user message"
        else:
            ok = value == wanted
        if not ok:
            missed.append(f"{key}={value!r}")
    return missed


def _called_message(
    times: int | None, criteria: Mapping[str, Any], requests: list[Exchange], matching: list[Exchange]
) -> str:
    wanted = ", ".join(f"{key}={value!r}" for key, value in criteria.items())
    expected = "at least 1 request" if times is None else _count(times, "request")
    head = f"expected {expected}{' with ' + wanted if wanted else ''} in this test, got {len(matching)}."
    if not requests:
        return f"{head}\n{_NO_REQUESTS}"
    lines = [head]
    if matching:
        lines.append("Matching:")
        lines += [f"  {request.summary}" for request in matching]
    misses = sorted(
        ((_differences(request, criteria), request) for request in requests if request not in matching),
        key=lambda pair: (len(pair[0]), pair[1].id),
    )
    if misses:
        lines.append("Near misses, closest first:")
        shown = misses[:NEAR_MISSES_SHOWN]
        lines += [f"  {request.summary}\n      differs: {', '.join(diff)}" for diff, request in shown]
        if len(misses) > NEAR_MISSES_SHOWN:
            lines.append(f"  ... and {len(misses) - NEAR_MISSES_SHOWN} more (mockserver.requests has them all)")
    return "\n".join(lines)
