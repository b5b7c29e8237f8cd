"""Cassettes: real traffic recorded once and replayed offline, frames, pacing and all.

``format`` is the file (YAML, redacted, written atomically); ``keys`` matches a request to a recording on
its conversation; ``upstream`` records from the real provider; ``replay`` gives a recording back;
``library`` picks the cassette and the mode per test; ``tools`` checks files, turns them into fixture rules
and imports vcrpy cassettes.
"""

from mockserver.cassettes.format import Cassette, CassetteError, Interaction
from mockserver.cassettes.library import MODES, CassetteLibrary

__all__ = ["MODES", "Cassette", "CassetteError", "CassetteLibrary", "Interaction"]
