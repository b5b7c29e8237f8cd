"""The control plane: which behaviour answers a request (the pipeline's "decide" step).

Four surfaces, one precedence, highest first:

1. control headers on the request (``X-Mock-Fault``, ``X-Mock-Reply``,
   ``X-Mock-Tool-Call`` + ``X-Mock-Tool-Args``);
2. the scripted queue (``POST /_mock/script``), scoped by ``X-Mock-Test-Id``;
3. fixture rules (``--fixtures DIR``), first match wins;
4. server defaults: ``--fault NAME=RATE`` chaos, reproducible with ``--seed``.

The first surface with something for this request *and this SDK attempt*
(``attempts=0-1`` reads ``x-stainless-retry-count``) decides alone. Then, for
generation endpoints, the ``--rpm``/``--tpm`` limiter admits the request or
refuses it with a 429 (injected errors cost nothing).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

import orjson

from mockserver.clock import Clock
from mockserver.config import Config, ConfigError
from mockserver.control.decision import NOTHING, Decision
from mockserver.control.faults import TOOL_NAME, Behavior, SpecError, behavior_from_mapping, parse_fault, parse_faults
from mockserver.control.fixtures import FixtureError, Rule, RuleSet, load_rules
from mockserver.control.matching import Asking, Match, RequestView
from mockserver.control.ratelimit import Limiter, RateLimiter, estimate_tokens
from mockserver.control.repeats import Repeats
from mockserver.errors import ApiError

if TYPE_CHECKING:
    from mockserver.asgi.context import RequestContext
    from mockserver.journal import Journal

CONTROL_HEADERS = {
    b"x-mock-fault": "X-Mock-Fault",
    b"x-mock-reply": "X-Mock-Reply",
    b"x-mock-tool-call": "X-Mock-Tool-Call",
    b"x-mock-tool-args": "X-Mock-Tool-Args",
}
SCRIPT_KEYS = ("match", "times", "share")
UNLIMITED = "unlimited"
# Behaviours that may wait at once, in all and for one test id: a runaway loop posting scripts is refused.
MAX_SCRIPTS = 10_000
MAX_SCRIPTS_PER_TEST = 1_000


def header_behavior(raw_headers: Iterable[tuple[bytes, bytes]]) -> Behavior | None:
    """The behaviour the control headers ask for, None without any; 400 naming the header if one is invalid."""
    found: dict[str, bytes] = {}
    for name, value in raw_headers:
        if name.startswith(b"x-mock-") and name in CONTROL_HEADERS:
            header = CONTROL_HEADERS[name]
            found[header] = found[header] + b"," + value if header in found else value
    if not found:
        return None
    faults = ()
    if "X-Mock-Fault" in found:
        faults = tuple(_header_value("X-Mock-Fault", found, parse_faults))
    reply = _text_value("X-Mock-Reply", found, str) if "X-Mock-Reply" in found else None
    tool_calls = None
    if "X-Mock-Tool-Call" in found:
        name = _header_value("X-Mock-Tool-Call", found, str).strip()
        if not TOOL_NAME.match(name):
            raise _invalid("X-Mock-Tool-Call", f"{name!r} is not a function name (letters, digits, _ or -, up to 64)")
        arguments = _text_value("X-Mock-Tool-Args", found, _json_object) if "X-Mock-Tool-Args" in found else None
        tool_calls = ({"name": name, "arguments": arguments},)
    elif "X-Mock-Tool-Args" in found:
        raise _invalid("X-Mock-Tool-Args", "it needs X-Mock-Tool-Call naming the function")
    if reply is not None and tool_calls is not None:
        raise _invalid("X-Mock-Reply", "give X-Mock-Reply or X-Mock-Tool-Call, not both")
    return Behavior(faults, reply, tool_calls)


def _header_value(header: str, found: dict[str, bytes], parse: Any) -> Any:
    try:
        return parse(found[header].decode("utf-8"))
    except UnicodeDecodeError:
        raise _invalid(header, "the value is not UTF-8") from None
    except (SpecError, ValueError) as error:
        raise _invalid(header, str(error)) from None


_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def _text_value(header: str, found: dict[str, bytes], parse: Any) -> Any:
    """A header that carries text (a reply, arguments): UTF-8, or Latin-1 as Node's clients send it, and
    percent-encoded UTF-8 (``caf%C3%A9``) for what a header cannot hold, which every client can send."""
    raw = found[header]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if _PERCENT_ESCAPE.search(text):
        try:
            text = unquote(text, errors="strict")
        except UnicodeDecodeError:
            raise _invalid(header, "its percent-encoded bytes are not UTF-8") from None
    try:
        return parse(text)
    except (SpecError, ValueError) as error:
        raise _invalid(header, str(error)) from None


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise ValueError("the arguments must be a JSON object")
    return value


def _invalid(header: str, problem: str) -> ApiError:
    return ApiError(400, f"Invalid {header} header: {problem}.", param=None, code="invalid_control_header")


# ---------------------------------------------------------------------- scripts


@dataclass
class ScriptEntry:
    """One posted behaviour: how many more requests it answers (None: unlimited), and how many it has answered."""

    id: int
    behavior: Behavior
    match: Match
    remaining: int | None
    test_id: str | None
    spec: dict[str, Any]
    used: int = 0
    share: float = 1.0  # the part of matching requests it answers, drawn reproducibly per (entry, request)
    seen: int = 0

    def as_dict(self) -> dict[str, Any]:
        remaining = UNLIMITED if self.remaining is None else self.remaining
        return {"id": self.id, "test_id": self.test_id, "remaining": remaining, "used": self.used,
                "behavior": self.spec}


    def applies(self, view: RequestView) -> bool:
        """Whether this entry is for the request's test and matches it."""
        return (self.test_id is None or self.test_id == view.call.test_id) and self.match.matches(view)

    def drawn(self, seen: int) -> bool:
        """Whether the ``seen``-th request this entry matched is in its ``share``."""
        return self.share >= 1 or draw_share(self.spec, self.test_id, seen) < self.share

    def decision(self, view: RequestView) -> Decision | None:
        """What this entry does to the request's attempt (None: nothing, on this attempt)."""
        return self.behavior.decision(view.call.attempt, f"script #{self.id}")


class SharedRules(Protocol):
    """A fleet's store of the rules added at run time (``mockserver.fleet.FleetRules``)."""

    def add(self, rules: list[Rule]) -> None: ...

    def clear(self) -> None: ...


class ScriptStore(Protocol):
    """Where posted behaviours wait: this process (:class:`ScriptQueue`) or a fleet's Redis
    (:class:`mockserver.fleet.FleetScriptQueue`). ``take`` runs on the event loop; the rest are the control
    actions, which a test's thread may call."""

    def __bool__(self) -> bool: ...

    def add(self, entries: list[ScriptEntry]) -> None: ...

    async def take(self, view: RequestView) -> tuple[ScriptEntry, Decision] | None: ...

    def pending(self, test_id: str | None = None) -> list[ScriptEntry]: ...

    def waiting(self) -> int:
        """How many entries wait, without asking anyone (the metrics' gauge)."""
        ...

    def clear(self, test_id: str | None = None) -> None: ...


def parse_scripts(payload: Any, test_id: str | None) -> list[ScriptEntry]:
    """Entries from ``{"behaviors": [...]}``; :class:`SpecError` names the first wrong field."""
    if not isinstance(payload, dict):
        raise SpecError('the body must be {"behaviors": [...]}')
    for key in payload:
        if key != "behaviors":
            raise SpecError(f"unknown field {key!r}; the body is {{\"behaviors\": [...]}}", (key,))
    behaviors = payload.get("behaviors")
    if not isinstance(behaviors, list) or not behaviors:
        raise SpecError("behaviors must be a non-empty list", ("behaviors",))
    entries = []
    for index, spec in enumerate(behaviors):
        try:
            entries.append(script_entry(spec, test_id))
        except SpecError as error:
            raise error.within("behaviors", index) from None
    return entries


def script_entry(spec: Any, test_id: str | None, entry_id: int = 0) -> ScriptEntry:
    """One behaviour of a script, checked."""
    if not isinstance(spec, dict):
        raise SpecError("a behavior is a mapping, e.g. {\"fault\": \"rate_limit\", \"times\": 2}")
    behavior = behavior_from_mapping(spec, extra=SCRIPT_KEYS, fault_params=True)
    try:
        match = Match.from_mapping(spec.get("match"))
    except SpecError as error:
        raise error.within("match") from None
    times = spec.get("times", 1)
    if times == UNLIMITED or times is None:
        remaining = None
    elif isinstance(times, int) and not isinstance(times, bool) and times >= 1:
        remaining = times
    else:
        raise SpecError(f"times must be a whole number from 1 or {UNLIMITED!r}, got {times!r}", ("times",))
    share = spec.get("share", 1)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise SpecError(f"share must be a number above 0 and at most 1, got {share!r}", ("share",))
    return ScriptEntry(entry_id, behavior, match, remaining, test_id, spec, share=float(share))


class ScriptQueue:
    """Posted behaviours in order, in this process; a request takes the first one that matches it."""

    def __init__(self) -> None:
        self._entries: list[ScriptEntry] = []
        self._ids = itertools.count(1)
        # The server's loop takes entries while a test's thread adds and clears them (MockServer's Python API).
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._entries)

    def add(self, entries: list[ScriptEntry]) -> None:
        """Queue ``entries`` (all or none); :class:`SpecError` when the queue would pass its bounds."""
        with self._lock:
            if len(self._entries) + len(entries) > MAX_SCRIPTS:
                raise SpecError(
                    f"{len(self._entries)} behaviors are waiting and at most {MAX_SCRIPTS} may; "
                    "POST /_mock/reset forgets them", ("behaviors",)
                )
            test_ids = {entry.test_id for entry in entries}
            for test_id in test_ids:
                waiting = sum(1 for entry in self._entries if entry.test_id == test_id)
                adding = sum(1 for entry in entries if entry.test_id == test_id)
                if waiting + adding > MAX_SCRIPTS_PER_TEST:
                    raise SpecError(
                        f"{waiting} behaviors of test {test_id!r} are waiting and at most {MAX_SCRIPTS_PER_TEST} "
                        "may; reset that test's scripts", ("behaviors",)
                    )
            for entry in entries:
                entry.id = next(self._ids)
                self._entries.append(entry)

    async def take(self, view: RequestView) -> tuple[ScriptEntry, Decision] | None:
        """The first entry for this request and attempt, with its decision; uses up one of its times."""
        with self._lock:
            for entry in self._entries:
                if not entry.applies(view):
                    continue
                if entry.share < 1:
                    entry.seen += 1
                    if not entry.drawn(entry.seen):
                        continue
                decision = entry.decision(view)
                if decision is None:
                    continue
                entry.used += 1
                if entry.remaining is not None:
                    entry.remaining -= 1
                    if entry.remaining == 0:
                        self._entries.remove(entry)
                return entry, decision
        return None

    def pending(self, test_id: str | None = None) -> list[ScriptEntry]:
        with self._lock:
            return [entry for entry in self._entries if test_id is None or entry.test_id == test_id]

    def waiting(self) -> int:
        return len(self._entries)

    def clear(self, test_id: str | None = None) -> None:
        with self._lock:
            self._entries = [] if test_id is None else [entry for entry in self._entries if entry.test_id != test_id]


def draw_share(spec: dict[str, Any], test_id: str | None, seen: int) -> float:
    """A number in [0, 1) for the ``seen``-th request a script's entry matched: the same on every run (and every
    node), whatever other tests ran before, since it is drawn from the entry's own content and test id, not its
    number."""
    material = orjson.dumps([spec, test_id, seen], option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    digest = hashlib.sha256(b"script " + material).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


# ---------------------------------------------------------------------- chaos


class Chaos:
    """``--fault NAME[;key=value]=RATE``: each request draws at most one fault, reproducibly from the seed: the
    n-th request that reaches chaos rolls a number made from the seed and n alone, so a fleet that counts its
    requests together (``mockserver.fleet.FleetChaos``) draws the one mock's sequence."""

    def __init__(self, specs: Iterable[str], seed: int) -> None:
        self.seed = seed
        self.table: list[tuple[float, Behavior]] = []
        total = 0.0
        for spec in specs:
            text, equals, rate_text = spec.rpartition("=")
            try:
                rate = float(rate_text)
                if not equals or not 0 < rate <= 1:
                    raise ValueError
            except ValueError:
                problem = "expected NAME=RATE with 0 < RATE <= 1, e.g. disconnect=0.05"
                raise ConfigError(f"--fault {spec!r}: {problem}") from None
            try:
                fault = parse_fault(text)
            except SpecError as error:
                raise ConfigError(f"--fault {spec!r}: {error}") from None
            total += rate
            self.table.append((total, Behavior((fault,))))
        if total > 1 + 1e-9:
            raise ConfigError(
                f"--fault rates add up to {total:g}; at most one fault is drawn per request, so keep them <= 1"
            )
        self._drawn = 0

    def __bool__(self) -> bool:
        return bool(self.table)

    async def draw(self, attempt: int) -> tuple[Behavior, Decision] | None:
        roll = self.roll(await self._count())
        for threshold, behavior in self.table:
            if roll < threshold:
                decision = behavior.decision(attempt, "chaos")
                return (behavior, decision) if decision is not None else None
        return None

    async def _count(self) -> int:
        """Which draw this is (1, 2, …)."""
        self._drawn += 1
        return self._drawn

    def roll(self, count: int) -> float:
        """The ``count``-th draw's number in [0, 1)."""
        digest = hashlib.sha256(f"chaos:{self.seed}:{count}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def reset(self) -> None:
        self._drawn = 0


# ---------------------------------------------------------------------- the decision


class Control:
    """Everything the control plane knows for one app: scripts, rules, chaos and rate limits."""

    def __init__(self, config: Config, journal: Journal, clock: Clock, limiter: Limiter | None = None,
                 scripts: ScriptStore | None = None, chaos: Chaos | None = None) -> None:
        self.journal = journal
        self.headers_enabled = config.control
        # Posted behaviours: this process's, unless the app shares a fleet's (--state redis://).
        self.scripts: ScriptStore = scripts if scripts is not None else ScriptQueue()
        # The test requests without X-Mock-Test-Id belong to (the pytest plugin sets it: a worker runs one
        # test at a time); the wire layer labels them with it.
        self.default_test_id: str | None = None
        try:
            self.rules: RuleSet = load_rules(config.fixtures)
        except FixtureError as error:
            raise ConfigError(str(error)) from None
        self.startup_rules = self.rules
        self.added_rules: list[Rule] = []
        self.chaos = chaos if chaos is not None else Chaos(config.fault, config.seed)
        # Where rules added at run time are shared with a fleet (--state redis://): None for this process only.
        self.shared_rules: SharedRules | None = None
        # The --rpm / --tpm buckets: this process's, unless the app shares a fleet's (--state redis://).
        self.limiter: Limiter | None = limiter or (
            RateLimiter(config.rpm, config.tpm, clock.monotonic) if (config.rpm or config.tpm) else None)
        self.repeats = Repeats(config.retry_window, clock.monotonic)

    async def decide(self, call: RequestContext, body: Any) -> Decision:
        """What answers this request: the first surface with a behaviour for it, then the rate limiter."""
        self._count_attempt(call, body)
        decision = await self._surfaces(call, body)
        if self.limiter is not None and call.generation and decision.error is None and not call.internal:
            model = body.get("model") if isinstance(body, dict) else None
            model = model if isinstance(model, str) else "the model"
            error, headers = await self.limiter.admit(call.api_key, estimate_tokens(body), model)
            if error is not None:
                return Decision(source=f"rate limit ({error.type})", error=error, headers=headers)
            return replace(decision, headers={**decision.headers, **headers})
        return decision

    def _count_attempt(self, call: RequestContext, body: Any) -> None:
        """Which attempt this is: the SDK's header, or how often the same request came within the window, whichever
        is more. A header of 0 is not the last word: a client that wraps the SDK's retries in its own (litellm's
        ``num_retries``, under DSPy) sends every retry as the SDK's first attempt, so the same request again after
        a failed answer is its retry (after a successful one, the header's 0 stands).

        Repeats are counted only where a fault could read the count (control headers, scripts, rules with
        ``attempts``, chaos): a plain request, or one a rule answers the same on every attempt, costs no digest of
        its body."""
        could_fault = self.scripts or self.rules.read_attempts or self.chaos or (
            self._controlled_by_headers(call))
        counted = (not call.retry_header or call.attempt == 0) and self.repeats.window > 0 and not call.internal \
            and bool(could_fault)
        repeated = 0
        if counted:
            canonical = b"" if body is None else orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
            call.repeat = self.repeats.digest(call.api_key, call.test_id, call.path, canonical)
            repeated = self.repeats.attempt(call.repeat, after_failure=call.retry_header)
            call.attempt = max(call.attempt, repeated)
        call.attempt_from = "repeat" if repeated or (counted and not call.retry_header) else \
            "header" if call.retry_header else None

    async def _surfaces(self, call: RequestContext, body: Any) -> Decision:
        if self._controlled_by_headers(call):
            behavior = header_behavior(call.raw_headers)
            if behavior is not None:
                decision = behavior.decision(call.attempt, "header")
                if decision is not None:
                    return self._chosen(call, behavior, decision)
        view = None
        if self.scripts:
            view = RequestView(call, body)
            taken = await self.scripts.take(view)
            if taken is not None:
                return self._chosen(call, taken[0].behavior, taken[1])
        if self.rules:
            rule = self.rules.first(view or RequestView(call, body))
            decision = None if rule is None else rule.behavior.decision(call.attempt, rule.source)
            if rule is not None and decision is not None:
                return self._chosen(call, rule.behavior, decision)
        if self.chaos:
            drawn = await self.chaos.draw(call.attempt)
            if drawn is not None:
                return self._chosen(call, *drawn)
        return NOTHING

    def _controlled_by_headers(self, call: RequestContext) -> bool:
        """Whether the request carries a control header (looked up in its header dict, not a scan of its list)."""
        return self.headers_enabled and not CONTROL_HEADERS.keys().isdisjoint(call.headers)

    @staticmethod
    def _chosen(call: RequestContext, behavior: Behavior, decision: Decision) -> Decision:
        labels = tuple(fault.label for fault in behavior.faults if fault.applies_to(call.attempt))
        return replace(decision, fault_labels=labels) if labels else decision

    def finished(self, call: RequestContext) -> None:
        """A request's answer is over: an identical one from now on (within the window) is its retry."""
        if call.repeat is not None:
            outcome = call.outcome
            failed = outcome is None or outcome.error_code is not None or bool(outcome.faults)
            self.repeats.answered(call.repeat, failed=failed)

    def explain(self, call: Asking, body: Any, limit: int = 5) -> list[dict[str, Any]]:
        """Why no script or rule answered a request: the nearest of them (fewest keys failed first), each with
        the match keys the request failed."""
        view = RequestView(call, body)
        near: list[tuple[int, int, dict[str, Any]]] = []
        for position, entry in enumerate(self.scripts.pending()):
            if entry.test_id is None or entry.test_id == call.test_id:
                failed = entry.match.failing(view)
                near.append((len(failed), position, {"source": f"script #{entry.id}", "failed": failed,
                                                     "behavior": entry.spec, "remaining": entry.remaining}))
        for rule in self.rules.rules:
            failed = rule.match.failing(view)
            near.append((len(failed), rule.position + len(near), {"source": rule.source, "failed": failed}))
        return [item for _, _, item in sorted(near, key=lambda found: found[:2])[:limit]]

    def add_rules(self, rules: list[Rule]) -> None:
        """Serve ``rules`` until the next reset (``MockServer.add_fixture``).

        They come before the ``--fixtures`` rules, in the order added: a test's
        own rules are more specific than the suite's.
        """
        if self.shared_rules is not None:
            self.shared_rules.add(rules)  # the fleet's; this node reads them back with its next request's turn
        self.use_added_rules(self.added_rules + rules)

    def use_added_rules(self, rules: list[Rule]) -> None:
        """Serve ``rules`` (those added at run time, in order) before the ``--fixtures`` rules."""
        self.added_rules = rules
        ordered = self.added_rules + self.startup_rules.rules
        self.rules = RuleSet([replace(rule, position=index) for index, rule in enumerate(ordered)])

    def reset(self, test_id: str | None = None) -> None:
        """Forget scripts and journal entries (of one test, with ``test_id``); globally also rate limits and chaos.

        Rules added at run time go too: only the ``--fixtures`` rules read at start-up stay.
        """
        self.scripts.clear(test_id)
        self.repeats.clear()
        self.added_rules = []
        self.rules = self.startup_rules
        if self.shared_rules is not None:
            self.shared_rules.clear()
        if test_id is not None:
            self.journal.discard(test_id)
            return
        self.journal.clear()
        self.chaos.reset()
        if self.limiter is not None:
            self.limiter.reset()
