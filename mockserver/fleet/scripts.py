"""Scripts a fleet shares: behaviours posted to any node wait in Redis, and each is taken atomically, so
``times: 3`` answers three requests in all whichever nodes serve them, and ``share`` draws one sequence.

Each node matches requests against the waiting entries itself (an entry's spec is parsed once per node and kept
while it waits); Lua scripts on the Redis server add entries within the bounds, take one use of an entry (or find
it gone: another node took its last use, and the next entry is tried), and clear a test's entries or all. The read
that lists them for a request also brings the fleet clock's advances (:mod:`.clock`) and the version of the rules
added at run time (:mod:`.rules`): one round trip levels all three.
Adding, listing and clearing are control actions a test's thread (or a worker thread) runs through the sync
client; taking runs on the event loop through the asyncio client.
"""

from __future__ import annotations

from typing import Any

import orjson

from mockserver.control.decision import Decision
from mockserver.control.faults import SpecError
from mockserver.control.matching import RequestView
from mockserver.control.plane import MAX_SCRIPTS, MAX_SCRIPTS_PER_TEST, ScriptEntry, script_entry
from mockserver.fleet.backend import SharedState
from mockserver.fleet.clock import FleetClock
from mockserver.fleet.rules import FleetRules

FIELDS = ("order", "spec", "remaining", "used", "seen", "test", "waiting", "next", "version")
"""The keys of the fleet's scripts: the ids in order (a list), each id's spec, remaining uses ("inf":
unlimited), uses, matches seen (for ``share``) and test id (hashes), each test's count of waiting entries, the
last id given, and the version of the set of waiting entries (moved by every add and every entry gone; never
reset, so a version a node saw is never seen again with other entries)."""
KEYS = {name: index + 1 for index, name in enumerate(FIELDS)}  # Lua's KEYS[n] of each

# ARGV: the two bounds, then each entry's test ('' for none), spec JSON and remaining uses. Returns the ids, or
# {0, waiting} past the fleet's bound, or {-1, waiting, test} past a test's.
ADD = """
local n = (#ARGV - 2) / 3
local total = redis.call('LLEN', KEYS[1])
if total + n > tonumber(ARGV[1]) then return {0, total} end
local adding = {}
for i = 0, n - 1 do
  local test = ARGV[3 + 3 * i]
  adding[test] = (adding[test] or 0) + 1
end
for test, count in pairs(adding) do
  local waiting = tonumber(redis.call('HGET', KEYS[7], test) or '0')
  if waiting + count > tonumber(ARGV[2]) then return {-1, waiting, test} end
end
local ids = {}
for i = 0, n - 1 do
  local id = redis.call('INCR', KEYS[8])
  redis.call('RPUSH', KEYS[1], id)
  redis.call('HSET', KEYS[2], id, ARGV[4 + 3 * i])
  redis.call('HSET', KEYS[3], id, ARGV[5 + 3 * i])
  redis.call('HSET', KEYS[6], id, ARGV[3 + 3 * i])
  redis.call('HINCRBY', KEYS[7], ARGV[3 + 3 * i], 1)
  ids[#ids + 1] = id
end
redis.call('INCR', KEYS[9])
return ids
"""

# What a request reads before it is decided, in one consistent read: the fleet clock's advances (KEYS[10]), the
# version of the rules added at run time (KEYS[11]), the version of the waiting entries, then, unless that is the
# version the node has (ARGV[1]), every waiting entry in order as id, test, spec, remaining, used.
LIST = """
local version = redis.call('GET', KEYS[9]) or '0'
local out = {redis.call('GET', KEYS[10]) or '0', redis.call('GET', KEYS[11]) or '0', version}
if version == ARGV[1] then return out end
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local test = redis.call('HGET', KEYS[6], id)
  if test then
    out[#out + 1] = id
    out[#out + 1] = test
    out[#out + 1] = redis.call('HGET', KEYS[2], id)
    out[#out + 1] = redis.call('HGET', KEYS[3], id)
    out[#out + 1] = redis.call('HGET', KEYS[4], id) or '0'
  end
end
return out
"""

FORGET = """
local function forget(id)
  local test = redis.call('HGET', KEYS[6], id)
  redis.call('LREM', KEYS[1], 1, id)
  for k = 2, 6 do redis.call('HDEL', KEYS[k], id) end
  if test and tonumber(redis.call('HINCRBY', KEYS[7], test, -1)) <= 0 then redis.call('HDEL', KEYS[7], test) end
  redis.call('INCR', KEYS[9])
end
"""

# ARGV[1]: the id. Returns its uses so far with this one and its remaining uses ('inf', or 0 once gone), or
# {} when it is gone already.
TAKE = FORGET + """
local id = ARGV[1]
local remaining = redis.call('HGET', KEYS[3], id)
if not remaining then return {} end
local used = redis.call('HINCRBY', KEYS[4], id, 1)
if remaining ~= 'inf' then
  remaining = tostring(tonumber(remaining) - 1)
  if tonumber(remaining) <= 0 then forget(id) else redis.call('HSET', KEYS[3], id, remaining) end
end
return {used, remaining}
"""

# ARGV[1]: '1' and the test id in ARGV[2] to clear one test's entries; '0' to clear them all.
CLEAR = FORGET + """
if ARGV[1] == '0' then
  for k = 1, 7 do redis.call('DEL', KEYS[k]) end
  redis.call('INCR', KEYS[9])
  return 0
end
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if redis.call('HGET', KEYS[6], id) == ARGV[2] then forget(id) end
end
return 0
"""


class FleetScriptQueue:
    """The fleet's waiting behaviours, in its Redis."""

    def __init__(self, shared: SharedState, clock: FleetClock, rules: FleetRules) -> None:
        self.shared = shared
        self.clock = clock
        self.rules = rules
        self.keys = [shared.key("scripts", name) for name in FIELDS] + [clock.key, rules.keys[1]]
        self._add = shared.sync_client.register_script(ADD)
        self._list_sync = shared.sync_client.register_script(LIST)
        self._clear = shared.sync_client.register_script(CLEAR)
        self._list = shared.register(LIST)
        self._take = shared.register(TAKE)
        self._parsed: dict[int, ScriptEntry] = {}  # entries seen waiting, parsed once, by id
        # The waiting entries in order as of the version this node last listed: a request whose read finds the
        # version unchanged matches against them without the entries crossing the wire again.
        self._waiting: list[ScriptEntry] = []
        self._version = ""

    def __bool__(self) -> bool:
        return True  # another node may have posted one: whether any waits is known only by asking

    def add(self, entries: list[ScriptEntry]) -> None:
        """Queue ``entries`` for the fleet (all or none); :class:`SpecError` past the bounds."""
        arguments: list[Any] = [MAX_SCRIPTS, MAX_SCRIPTS_PER_TEST]
        for entry in entries:
            arguments += [entry.test_id or "", orjson.dumps(entry.spec),
                          "inf" if entry.remaining is None else entry.remaining]
        answer = self.shared.call_sync(lambda: self._add(keys=self.keys, args=arguments))
        if answer and answer[0] == 0:
            raise SpecError(f"{answer[1]} behaviors are waiting in the fleet and at most {MAX_SCRIPTS} may; "
                            "POST /_mock/reset forgets them", ("behaviors",))
        if answer and answer[0] == -1:
            test = answer[2].decode() or None
            raise SpecError(f"{answer[1]} behaviors of test {test!r} are waiting and at most "
                            f"{MAX_SCRIPTS_PER_TEST} may; reset that test's scripts", ("behaviors",))
        for entry, entry_id in zip(entries, answer, strict=True):
            entry.id = int(entry_id)
            self._parsed[entry.id] = entry  # the poster's object, kept counting the uses this node sees

    async def take(self, view: RequestView) -> tuple[ScriptEntry, Decision] | None:
        """The first waiting entry for this request and attempt, with its decision; one of its uses taken in the
        fleet (an entry whose last use another node took meanwhile is passed over)."""
        listed = await self.shared.run(self._list(keys=self.keys, args=[self._version]))
        self.clock.clock.catch_up(float(listed[0]))  # the fleet's clock, level before anything reads it
        await self.rules.catch_up(listed[1])  # the rules added at run time, before the control plane reads them
        version = listed[2].decode()
        if version != self._version:
            self._waiting, self._version = self._entries(listed[3:]), version
        waiting = self._waiting
        for entry in waiting:
            if not entry.applies(view):
                continue
            if entry.share < 1:  # this match counted in the fleet, then drawn as the one queue would
                seen = await self.shared.run(self.shared.client.hincrby(self.keys[KEYS["seen"] - 1], str(entry.id), 1))
                if not entry.drawn(int(seen)):
                    continue
            decision = entry.decision(view)
            if decision is None:
                continue
            taken = await self.shared.run(self._take(keys=self.keys, args=[entry.id]))
            if not taken:
                continue  # another node took its last use
            entry.used = int(taken[0])
            entry.remaining = None if taken[1] == b"inf" else int(taken[1])
            return entry, decision
        return None

    def pending(self, test_id: str | None = None) -> list[ScriptEntry]:
        waiting = self._entries(self.shared.call_sync(lambda: self._list_sync(keys=self.keys, args=[""]))[3:])
        return [entry for entry in waiting if test_id is None or entry.test_id == test_id]

    def waiting(self) -> int:
        """As many as this node saw waiting when it last looked (a request, a listing)."""
        return len(self._parsed)

    def clear(self, test_id: str | None = None) -> None:
        arguments = ["0"] if test_id is None else ["1", test_id]
        self.shared.call_sync(lambda: self._clear(keys=self.keys, args=arguments))

    def _entries(self, listed: list[bytes]) -> list[ScriptEntry]:
        """The waiting entries from :data:`LIST`'s answer, each parsed once and kept while it waits."""
        entries = []
        parsed: dict[int, ScriptEntry] = {}
        for start in range(0, len(listed), 5):
            entry_id, test, spec, remaining, used = listed[start:start + 5]
            number = int(entry_id)
            entry = self._parsed.get(number)
            if entry is None:
                entry = script_entry(orjson.loads(spec), test.decode() or None, number)
            entry.remaining = None if remaining == b"inf" else int(remaining)
            entry.used = int(used)
            parsed[number] = entry
            entries.append(entry)
        self._parsed = parsed
        return entries


__all__ = ["ADD", "CLEAR", "LIST", "TAKE", "FleetScriptQueue"]
