"""Request matching, shared by scripts (``POST /_mock/script``) and fixture rules.

A :class:`Match` is compiled once (regexes included) when a script is posted
or a fixture file is loaded; a :class:`RequestView` computes what a match
looks at (the last user message, the offered tools, ...) at most once per
request, and only if some match asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, Protocol, TypeVar, overload

from mockserver.control.faults import SpecError
from mockserver.messages import content_text, conversation, last_user_text, model_in_path, tool_result_pending
from mockserver.patterns import PatternUnsupported, compile_pattern


class Asking(Protocol):
    """What matches read of the request beyond its body (a live ``RequestContext``, or a journaled one)."""

    @property
    def dialect(self) -> str | None: ...

    @property
    def path(self) -> str: ...

    @property
    def test_id(self) -> str | None: ...

    @property
    def attempt(self) -> int: ...

    def header(self, name: str) -> str | None: ...

MATCH_KEYS = (
    "model", "dialect", "path", "message_contains", "message_regex", "system_contains",
    "tools_include", "has_tool_result", "turn", "header",
)


Fact = TypeVar("Fact")


class _fact(Generic[Fact]):
    """A fact of a :class:`RequestView`, computed on first read and kept in the view: ``cached_property`` without
    the lock Python 3.11's takes on every first read (a request reads two or three facts; the lock was most of
    their cost)."""

    def __init__(self, compute: Callable[[Any], Fact]) -> None:
        self.compute = compute
        self.__doc__ = compute.__doc__
        self.name = compute.__name__

    @overload
    def __get__(self, view: None, owner: type | None = None) -> _fact[Fact]: ...

    @overload
    def __get__(self, view: object, owner: type | None = None) -> Fact: ...

    def __get__(self, view: object | None, owner: type | None = None) -> Fact | _fact[Fact]:
        if view is None:
            return self
        value = view.__dict__[self.name] = self.compute(view)  # read from the view's dict from now on
        return value


class RequestView:
    """One request as matches see it; each fact is computed on first use."""

    def __init__(self, call: Asking, body: Any) -> None:
        self.call = call
        self.body = body if isinstance(body, dict) else {}

    @_fact
    def model(self) -> str | None:
        """The ``model`` of the body, or the one the path names (Gemini's ``/models/{model}:generateContent``)."""
        model = self.body.get("model")
        if isinstance(model, str):
            return model
        return model_in_path(self.call.path)

    @_fact
    def messages(self) -> list[dict[str, Any]]:
        return conversation(self.body)

    @_fact
    def last_user_message(self) -> str:
        return last_user_text(self.messages)

    @_fact
    def system_text(self) -> str:
        return "\n".join(
            content_text(message.get("content")) for message in self.messages
            if message.get("role") in ("system", "developer")
        )

    @_fact
    def tool_names(self) -> frozenset[str]:
        tools = self.body.get("tools")
        if not isinstance(tools, list):
            return frozenset()
        names = [  # a chat tool names its function; a Responses function tool is named itself
            tool["function"].get("name") if isinstance(tool.get("function"), dict) else tool.get("name")
            for tool in tools if isinstance(tool, dict)
        ]
        names += [declaration.get("name") for tool in tools if isinstance(tool, dict)  # Gemini's declarations
                  for declaration in tool.get("functionDeclarations", tool.get("function_declarations")) or []
                  if isinstance(declaration, dict)]
        return frozenset(name for name in names if isinstance(name, str))

    @_fact
    def turn(self) -> int:
        return sum(1 for message in self.messages if message.get("role") == "user")


@dataclass(frozen=True)
class Match:
    """Conditions on a request; every condition given must hold. An empty match matches everything."""

    model: frozenset[str] | None = None
    dialect: frozenset[str] | None = None
    path: str | None = None
    message_contains: str | None = None
    message_regex: Any = None  # a compiled RE2 pattern (mockserver.patterns)
    system_contains: str | None = None
    tools_include: frozenset[str] | None = None
    has_tool_result: bool | None = None
    turn: int | None = None
    header: tuple[tuple[str, str], ...] | None = None

    @classmethod
    def from_mapping(cls, data: Any) -> Match:
        """A match from ``{model: ..., message_regex: ...}``; mistakes raise :class:`SpecError` naming the key."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise SpecError(f"match must be a mapping of conditions ({', '.join(MATCH_KEYS)})")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in MATCH_KEYS:
                raise SpecError(f"unknown match key {key!r}; known: {', '.join(MATCH_KEYS)}", (key,))
            values[key] = _condition(key, value)
        return cls(**values)

    def matches(self, view: RequestView) -> bool:
        return all(holds(view) for _, holds in self._checks)

    def failing(self, view: RequestView) -> list[str]:
        """The keys of this match that ``view`` does not meet (every one, for an explanation)."""
        return [key for key, holds in self._checks if not holds(view)]

    @cached_property
    def _checks(self) -> tuple[tuple[str, Callable[[RequestView], bool]], ...]:
        """A check for each key this match has, cheapest first: matching stops at the first that fails, and a
        key the match does not have costs nothing."""
        checks: list[tuple[str, Callable[[RequestView], bool]]] = []
        if (models := self.model) is not None:
            checks.append(("model", lambda view: view.model in models))
        if (dialects := self.dialect) is not None:
            checks.append(("dialect", lambda view: view.call.dialect in dialects))
        if (path := self.path) is not None:
            checks.append(("path", lambda view: view.call.path.endswith(path)))
        if (headers := self.header) is not None:
            checks.append(("header", lambda view: all(view.call.header(name) == value for name, value in headers)))
        if (turn := self.turn) is not None:
            checks.append(("turn", lambda view: view.turn == turn))
        if (pending := self.has_tool_result) is not None:
            checks.append(("has_tool_result", lambda view: tool_result_pending(view.messages) == pending))
        if (tools := self.tools_include) is not None:
            checks.append(("tools_include", lambda view: tools <= view.tool_names))
        if (contained := self.message_contains) is not None:
            checks.append(("message_contains", lambda view: contained in view.last_user_message.lower()))
        if (pattern := self.message_regex) is not None:
            checks.append(("message_regex", lambda view: pattern.search(view.last_user_message) is not None))
        if (system := self.system_contains) is not None:
            checks.append(("system_contains", lambda view: system in view.system_text.lower()))
        return tuple(checks)


def _condition(key: str, value: Any) -> Any:
    path = (key,)
    if key in ("model", "dialect", "tools_include"):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(item, str) for item in items):
            raise SpecError(f"{key} must be a name or a list of names", path)
        return frozenset(items)
    if key in ("path", "message_contains", "system_contains"):
        if not isinstance(value, str) or not value:
            raise SpecError(f"{key} must be non-empty text", path)
        return value if key == "path" else value.lower()
    if key == "message_regex":
        if not isinstance(value, str):
            raise SpecError("message_regex must be a regular expression as text", path)
        try:
            return compile_pattern(value)
        except PatternUnsupported as error:
            raise SpecError(f"message_regex: {error}", path) from None
    if key == "has_tool_result":
        if not isinstance(value, bool):
            raise SpecError("has_tool_result must be true or false", path)
        return value
    if key == "turn":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError("turn must be a whole number from 1 (the number of user messages so far)", path)
        return value
    if not isinstance(value, Mapping) or not all(isinstance(item, str) for item in value.values()):
        raise SpecError("header must be a mapping of header names to exact values", path)
    return tuple((str(name).lower(), item) for name, item in value.items())
