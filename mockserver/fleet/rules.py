"""Fixture rules a fleet shares: rules added at run time (``MockServer.add_fixture``) on any node are kept in
Redis as written, with a version every change moves; each node reads the version with its next request's turn
(beside the scripts and the clock) and compiles the list again when it moved, so every node serves them.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from mockserver.control.faults import SpecError
from mockserver.control.fixtures import Rule, compile_rule
from mockserver.control.plane import MAX_SCRIPTS
from mockserver.fleet.backend import SharedState

MAX_RULES = MAX_SCRIPTS
"""Rules a fleet may have added at once (as many as scripts may wait)."""

# KEYS: the list, the version. ARGV: the bound, then each rule's JSON. Returns the count held, or -1 past the bound.
ADD = """
if redis.call('LLEN', KEYS[1]) + #ARGV - 1 > tonumber(ARGV[1]) then return -1 end
for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('INCR', KEYS[2])
return redis.call('LLEN', KEYS[1])
"""

CLEAR = """
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
return 0
"""


class FleetRules:
    """The rules added at run time in a fleet: written here, served by every node through ``apply``."""

    def __init__(self, shared: SharedState, apply: Callable[[list[Rule]], None]) -> None:
        self.shared = shared
        self.apply = apply
        self.keys = [shared.key("rules", "list"), shared.key("rules", "version")]
        self.seen = b"0"  # the version this node serves
        self._add = shared.sync_client.register_script(ADD)
        self._clear = shared.sync_client.register_script(CLEAR)

    def add(self, rules: list[Rule]) -> None:
        written = [orjson.dumps({"spec": rule.spec, "file": rule.file, "line": rule.line}) for rule in rules]
        if self.shared.call_sync(lambda: self._add(keys=self.keys, args=[MAX_RULES, *written])) == -1:
            raise SpecError(f"at most {MAX_RULES} rules may be added in a fleet; a reset forgets them")

    def clear(self) -> None:
        self.shared.call_sync(lambda: self._clear(keys=self.keys))

    async def catch_up(self, version: bytes) -> None:
        """Serve the fleet's rules if their version moved since this node last read them."""
        if version == self.seen:
            return
        listed = await self.shared.run(self.shared.client.lrange(self.keys[0], 0, -1))
        rules = []
        for position, written in enumerate(listed):
            rule = orjson.loads(written)
            rules.append(compile_rule(rule["spec"], rule["file"], rule["line"], position))
        self.apply(rules)
        self.seen = version


__all__ = ["MAX_RULES", "FleetRules"]
