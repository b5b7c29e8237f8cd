"""``AppState``: everything one mock server knows, built in one step from its configuration.

All state lives here, owned by the app (no module globals), so several servers
can run in one process, e.g. under pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from mockserver.app.auth import KeyPolicy
from mockserver.app.metrics import Metrics
from mockserver.cassettes.library import CassetteLibrary, Replay
from mockserver.cassettes.upstream import Upstreams
from mockserver.clock import Clock
from mockserver.config import Config, ConfigError
from mockserver.control.plane import Chaos, Control, ScriptStore
from mockserver.control.ratelimit import Limiter
from mockserver.determinism import Identity
from mockserver.dialects.catalog import load_catalogs, load_characters
from mockserver.dialects.dialect import Dialect, load_dialects
from mockserver.generation.chat import ChatGenerator, ChatSettings
from mockserver.journal import Journal, JournalReader
from mockserver.services.chat import ChatService
from mockserver.services.images import ImageService
from mockserver.services.models import ModelDirectory
from mockserver.services.prompt_cache import PromptCache
from mockserver.storage import open_stores
from mockserver.validation import BodyValidator, Checks, validator_for

if TYPE_CHECKING:
    from mockserver.fleet import FleetClock, FleetJournal, SharedState

HEAVY_WORK_SLOTS = 1
"""Work too big for the event loop runs on this many threads at once. One: each more thread competing for
the GIL with the loop doubled how long a health check waited on a loaded machine (50 ms -> 90 ms)."""


class AppState:
    """Config, catalogs, dialects, validators, generator, journal, stores and control plane of one server."""

    def __init__(self, config: Config) -> None:
        self.config = config
        # The one clock every schedule, bucket, window and timestamp reads; tests move it (POST /_mock/clock).
        self.clock = Clock(frozen=config.freeze_time)
        self.identity = Identity(config.seed, self.clock)
        self.catalogs = load_catalogs()
        self.dialects = load_dialects(self.catalogs)
        if config.dialect not in self.dialects:
            raise ConfigError(f"unknown dialect {config.dialect!r}; known: {', '.join(self.dialects)}")
        self.characters = load_characters()
        self.keys = KeyPolicy(config)
        # What a fleet shares (--state redis://): the journal, scripts, rules added at run time, the clock, chaos
        # and rate-limit buckets; None with --state memory.
        self.shared: SharedState | None = None
        self.fleet_journal: FleetJournal | None = None
        if config.state != "memory":
            from mockserver.fleet import FleetJournal, SharedState

            self.shared = SharedState(config.state, config.state_prefix)
            self.fleet_journal = FleetJournal(self.shared, config.journal_size, config.journal_bytes)
        self.journal = Journal(config.journal_size, config.journal_bytes) if self.fleet_journal is None else Journal(
            config.journal_size, config.journal_bytes, self.fleet_journal.first_id(), self.fleet_journal.node,
            self.fleet_journal.worker)
        if self.fleet_journal is not None:
            self.journal.listeners.append(self.fleet_journal.observe)
        # Where the journal is read: this process's, or the fleet's.
        self.journal_view: JournalReader = self.fleet_journal if self.fleet_journal is not None else self.journal
        # Stored completions, async jobs, resources, deleted models: in memory, on disk with --state-dir, or the
        # fleet's in Redis.
        if self.shared is None:
            self.stores = open_stores(config.state_dir, config.store_bytes, self.clock.now)
        else:
            from mockserver.fleet import FleetCreates, fleet_stores

            self.stores = fleet_stores(self.shared, config.store_bytes, self.clock.now)
            self.identity.creates = FleetCreates(self.shared)
        # What --validation asks of every step (contract-test mode: unknown resources are synthesized, not 404).
        self.checks = Checks.for_mode(config.validation)
        # Worker threads for work too big for the event loop (drawing pictures); the cap also bounds its memory.
        self.heavy_work = anyio.CapacityLimiter(HEAVY_WORK_SLOTS)
        # The services families share instead of importing each other's handlers.
        self.models = ModelDirectory(self.identity, self.stores.deleted_models, self.checks.synthesize_missing)
        self.images = ImageService(config, self.checks, self.identity, self.heavy_work)
        generator = ChatGenerator(self.identity, ChatSettings(config.reply_range))
        self.chat = ChatService(config, self.checks, generator, self.models, self.characters, self.heavy_work)
        self.prompt_cache = PromptCache(self.clock.now)
        self.fleet_clock: FleetClock | None = None
        limiter: Limiter | None = None
        scripts: ScriptStore | None = None
        chaos: Chaos | None = None
        if self.shared is not None:
            from mockserver.fleet import (
                FleetChaos,
                FleetClock,
                FleetPlays,
                FleetRateLimiter,
                FleetRules,
                FleetScriptQueue,
            )

            self.fleet_clock = FleetClock(self.shared, self.clock)
            rules = FleetRules(self.shared, lambda added: self.control.use_added_rules(added))
            scripts = FleetScriptQueue(self.shared, self.fleet_clock, rules)
            chaos = FleetChaos(config.fault, config.seed, self.shared) if config.fault else None
            if config.rpm or config.tpm:
                limiter = FleetRateLimiter(self.shared, config.rpm, config.tpm, self.clock.now)
        self.control = Control(config, self.journal, self.clock, limiter, scripts, chaos)
        if self.shared is not None:
            self.control.shared_rules = rules
        self.metrics = Metrics(self.journal, lambda: self.control.scripts.waiting(), self.stores) \
            if config.metrics else None
        if self.metrics is not None:
            self.journal.listeners.append(self.metrics.observe)
        # Recorded exchanges: replayed, and recorded from an upstream, by test id (the pytest plugin, --record).
        self.cassettes = CassetteLibrary(
            config.cassette_directory, config.cassette_mode,
            Upstreams.parse(config.upstream, config.upstream_key_env) if config.upstream else None,
            Replay(config.replay_speed, config.replay_ids, config.replay_usage, config.seed),
            tuple(config.redact_field),
            frozenset(name for name, dialect in self.dialects.items() if dialect.streams_by_default),
            plays=None if self.shared is None else FleetPlays(self.shared),
        )
        self._validators: dict[tuple[str, str], BodyValidator] = {}

    def reset(self, test_id: str | None = None) -> None:
        """Forget what requests changed: scripts, journal entries and added rules (only one test's scripts and
        entries with ``test_id``); with no test id also rate-limit buckets, the chaos sequence and every store
        (stored completions, async jobs, deleted models), which carry no test id."""
        self.control.reset(test_id)
        if self.fleet_journal is not None:
            if test_id is None:
                self.fleet_journal.clear()
            else:
                self.fleet_journal.discard(test_id)
        if test_id is None:
            self.stores.clear()
            self.prompt_cache.clear()
            self.identity.restart()
            self.cassettes.reset()

    def advance_clock(self, seconds: float) -> float:
        """Move the clock (the fleet's, with ``--state redis://``) ``seconds`` forward; the new time."""
        return self.clock.advance(seconds) if self.fleet_clock is None else self.fleet_clock.advance(seconds)

    def set_clock(self, unix_seconds: float) -> float:
        """Move the clock (the fleet's, with ``--state redis://``) forward to ``unix_seconds``."""
        return self.clock.set(unix_seconds) if self.fleet_clock is None else self.fleet_clock.set(unix_seconds)

    def read_clock(self) -> Clock:
        """The clock, level with the fleet's advances first with ``--state redis://``."""
        if self.fleet_clock is not None:
            self.fleet_clock.catch_up()
        return self.clock

    async def aclose(self) -> None:
        """Let go of what the app holds open beyond its connections: the recorder's upstream client, the fleet's
        Redis connections."""
        await self.cassettes.aclose()
        if self.fleet_journal is not None:
            await self.fleet_journal.flush()
        if self.shared is not None:
            await self.shared.aclose()

    def validator(self, kind: str, dialect: str) -> BodyValidator:
        """The compiled request schema of endpoint ``kind`` as ``dialect`` takes it (compiled on first use: a
        dialect never asked for a kind never compiles it)."""
        found = self._validators.get((kind, dialect))
        if found is None:
            found = self._validators[(kind, dialect)] = validator_for(
                kind, dialect, ignore_unknown=self.checks.ignore_unknown)
        return found

    def mounts(self) -> list[tuple[str, Dialect]]:
        """Every (path prefix, dialect) pair the app serves, default dialect first at /v1."""
        pairs = [("/v1", self.dialects[self.config.dialect])]
        for dialect in self.dialects.values():
            pairs.append((dialect.mount_path, dialect))
            pairs.extend((path, dialect) for path in dialect.also_at)
        return pairs
