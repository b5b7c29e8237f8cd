"""State that a fleet of mocks shares: every worker and every ``mockserver serve`` started with the same
``--state redis://HOST:PORT/DB`` (and ``--state-prefix``) acts as one mock for what lives here.

:mod:`.backend` holds the connection and turns Redis being unreachable into a clear 503; :mod:`.journal` keeps
every node's exchanges; :mod:`.scripts` holds posted behaviours, each use taken once in the fleet; :mod:`.rules`
the fixture rules added at run time; :mod:`.clock` keeps every node's clock level with the advances made on any;
:mod:`.chaos` draws ``--fault`` sequences as one mock would; :mod:`.ratelimit` keeps ``--rpm`` / ``--tpm``
buckets exact across the fleet; :mod:`.stores` keeps every store (and the leases that run a lifecycle step once);
:mod:`.plays` counts cassette plays. The default, ``--state memory``, uses none of them.
"""

from mockserver.fleet.backend import STATE_TIMEOUT, SharedState, StateUnavailable
from mockserver.fleet.chaos import FleetChaos
from mockserver.fleet.clock import FleetClock
from mockserver.fleet.journal import FleetJournal
from mockserver.fleet.plays import FleetPlays
from mockserver.fleet.ratelimit import FleetRateLimiter
from mockserver.fleet.rules import FleetRules
from mockserver.fleet.scripts import FleetScriptQueue
from mockserver.fleet.stores import FleetCreates, FleetLeases, fleet_stores

__all__ = ["STATE_TIMEOUT", "FleetChaos", "FleetClock", "FleetCreates", "FleetJournal", "FleetLeases", "FleetPlays",
           "FleetRateLimiter", "FleetRules", "FleetScriptQueue", "SharedState", "StateUnavailable", "fleet_stores"]
