"""User-supplied regular expressions, on a linear-time engine (RE2).

Patterns arrive from clients: ``pattern`` and ``patternProperties`` in a
``response_format`` or tool schema, ``message_regex`` in scripts and fixture
rules. Python's ``re`` backtracks, so ``(a+)+$`` against forty characters runs
for minutes and freezes the worker. RE2 matches in time linear in the text and
refuses what it cannot do that way (lookarounds, backreferences, possessive
quantifiers): such a pattern is a clear error naming the field, never a hang.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

from mockserver.errors import MockserverError

# A pattern longer than this is refused before RE2 parses it (RE2's own memory limit bounds the rest).
MAX_PATTERN_LENGTH = 4096
RE2_MAX_MEMORY = 8 << 20


class PatternUnsupported(MockserverError, ValueError):
    """A pattern that cannot run on a linear-time engine, or is not a regular expression at all."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern to stderr
    options.max_mem = RE2_MAX_MEMORY
    return options


_OPTIONS = _options()


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Any:
    """The compiled pattern (``.search(text)`` as with ``re``); :class:`PatternUnsupported` says why not."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternUnsupported(f"the pattern is {len(pattern)} characters long; at most {MAX_PATTERN_LENGTH}")
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        reason = error.args[0].decode(errors="replace") if error.args and isinstance(error.args[0], bytes) else error
        raise PatternUnsupported(
            f"{pattern!r} cannot run on a linear-time regular expression engine (RE2: {reason}); "
            "lookarounds and backreferences are not supported"
        ) from None
