"""What the control plane decided for one request (the pipeline's "decide" step)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mockserver.constructors import fast_constructor
from mockserver.errors import ApiError


@dataclass
class Script:
    """What the control plane decided the reply must be, if anything."""

    reply: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    broken_tool_call: str | None = None


@dataclass
class Decision:
    """The outcome of matching a request against headers, scripts, fixtures and chaos.

    ``error`` answers the request with an HTTP error; ``script`` fixes the reply
    content; ``faults`` are transport and stream behaviours carried out by the
    wire layer as the response is sent. ``source`` names what decided, and
    ``fault_labels`` the faults of its behaviour that apply to this attempt, for the
    journal; ``headers`` are added to the response (rate-limit state).
    """

    source: str | None = None
    error: ApiError | None = None
    script: Script | None = None
    faults: list[Any] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    fault_labels: tuple[str, ...] = ()


NOTHING = Decision()
new_script = fast_constructor(Script)
new_decision = fast_constructor(Decision)
"""``Script(...)`` and ``Decision(...)`` for a behaviour's decision on each request it answers (see
:mod:`mockserver.constructors`)."""
