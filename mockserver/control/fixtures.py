"""Fixture rules: YAML/JSON files of ``rules:``, each a ``match`` and an answer.

Files are read and compiled once, at start-up (``--fixtures DIR``), and
indexed by model, so a request only tries the rules that can match its
model; nothing is read per request. The first matching rule wins, in file
name order, then in order within a file.

Every mistake is reported with its file and line, both by ``mockserver
check-fixtures DIR`` and at start-up, which refuses to run with a broken rule.

.. code-block:: yaml

    rules:
      - match: {model: gpt-4o-mini, message_regex: "(?i)weather in \\w+"}
        tool_calls: [{name: get_weather, arguments: {city: Paris}}]
      - match: {has_tool_result: true}
        reply: "It is sunny."
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mockserver.control.faults import Behavior, SpecError, behavior_from_mapping
from mockserver.control.matching import Match, RequestView
from mockserver.errors import MockserverError
from mockserver.resources import UserYamlLoader

RULE_FILE_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Rule:
    match: Match
    behavior: Behavior
    file: str
    line: int
    position: int
    # The rule as written (a mapping), so a fleet's nodes can compile the rules one of them added.
    spec: Any = field(default=None, compare=False, repr=False)

    @property
    def source(self) -> str:
        return f"fixture {self.file}:{self.line}"


@dataclass(frozen=True)
class FixtureProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class FixtureError(MockserverError, ValueError):
    """Fixture files with mistakes; the message lists each as ``file:line: what is wrong``."""

    def __init__(self, problems: list[FixtureProblem]) -> None:
        super().__init__("invalid fixture rules:\n" + "\n".join(f"  {problem}" for problem in problems))
        self.problems = problems


class RuleSet:
    """Compiled rules, indexed by the models they name; ``first`` finds the winning rule."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.read_attempts = any(rule.behavior.reads_attempt for rule in rules)
        self._any_model = [rule for rule in rules if rule.match.model is None]
        by_model: dict[str, list[Rule]] = {}
        for rule in rules:
            for model in rule.match.model or ():
                by_model.setdefault(model, []).append(rule)
        self._by_model = {
            model: sorted(named + self._any_model, key=lambda rule: rule.position) for model, named in by_model.items()
        }

    def __bool__(self) -> bool:
        return bool(self.rules)

    def first(self, view: RequestView) -> Rule | None:
        candidates = self._by_model.get(view.model, self._any_model) if view.model is not None else self._any_model
        for rule in candidates:  # a loop, not next() over a generator: one left open is closed by an exception
            if rule.match.matches(view):
                return rule
        return None


def rule_files(locations: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Every rule file under the given directories (or the files themselves), in name order per directory."""
    files: list[Path] = []
    for location in locations:
        path = Path(location)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            found = (item for item in path.rglob("*") if item.suffix in RULE_FILE_SUFFIXES and item.is_file())
            files.extend(sorted(found))
        else:
            raise FixtureError([FixtureProblem(str(path), 0, "no such file or directory")])
    return files


def check_fixtures(locations: Iterable[str | os.PathLike[str]]) -> tuple[list[Rule], list[FixtureProblem]]:
    """Parse and compile every rule; return the rules and every problem found (not only the first)."""
    rules: list[Rule] = []
    problems: list[FixtureProblem] = []
    for path in rule_files(locations):
        found, wrong = _load_file(path, len(rules))
        rules.extend(found)
        problems.extend(wrong)
    return rules, problems


def load_rules(locations: Iterable[str | os.PathLike[str]]) -> RuleSet:
    """The rules ready to serve, or :class:`FixtureError` listing every mistake."""
    rules, problems = check_fixtures(locations)
    if problems:
        raise FixtureError(problems)
    return RuleSet(rules)


def rules_from_mapping(data: Any, source: str) -> list[Rule]:
    """Rules given as data instead of a file: one rule, or a document ``{"rules": [...]}``.

    Checked exactly like a rule file; :class:`SpecError` names the first
    mistake. ``source`` stands for the file name in the journal
    (``fixture <source>:<rule number>``).
    """
    if not (isinstance(data, dict) and "rules" in data):
        return [compile_rule(data, source, 1, 0)]
    extra = [key for key in data if key != "rules"]
    if extra:
        raise SpecError(f"unknown top-level key {extra[0]!r}; only 'rules' is allowed", (extra[0],))
    if not isinstance(data["rules"], list):
        raise SpecError("rules must be a list of rules", ("rules",))
    rules: list[Rule] = []
    for index, entry in enumerate(data["rules"]):
        try:
            rules.append(compile_rule(entry, source, index + 1, index))
        except SpecError as error:
            raise error.within("rules", index) from None
    return rules


def _load_file(path: Path, start: int) -> tuple[list[Rule], list[FixtureProblem]]:
    name = str(path)
    try:
        loader = UserYamlLoader(path.read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except OSError as error:
        return [], [FixtureProblem(name, 0, f"cannot read: {error.strerror}")]
    except UnicodeDecodeError:
        return [], [FixtureProblem(name, 0, "not UTF-8 text")]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        return [], [FixtureProblem(name, line, f"not valid YAML/JSON: {getattr(error, 'problem', None) or error}")]
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _index_lines(node, (), lines)

    def problem(error: SpecError) -> FixtureProblem:
        path_ = error.path
        while path_ and path_ not in lines:
            path_ = path_[:-1]
        return FixtureProblem(name, lines.get(path_, 1), str(error))

    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        return [], [problem(SpecError("a rule file holds a mapping with a 'rules:' list"))]
    extra = [key for key in data if key != "rules"]
    problems = [problem(SpecError(f"unknown top-level key {key!r}; only 'rules' is allowed", (key,))) for key in extra]
    rules: list[Rule] = []
    for index, entry in enumerate(data["rules"]):
        try:
            rules.append(compile_rule(entry, name, lines.get(("rules", index), 1), start + len(rules)))
        except SpecError as error:
            problems.append(problem(error.within("rules", index)))
    return rules, problems


def compile_rule(entry: Any, file: str, line: int, position: int) -> Rule:
    """One rule from its mapping; ``file`` and ``line`` say where it was written (the journal's label)."""
    if not isinstance(entry, dict):
        raise SpecError("a rule is a mapping: {match: {...}, reply | tool_calls | error | fault: ...}")
    try:
        match = Match.from_mapping(entry.get("match"))
    except SpecError as error:
        raise error.within("match") from None
    return Rule(match, behavior_from_mapping(entry, extra=("match",)), file, line, position, entry)


def _index_lines(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    """Record the 1-based line of every mapping value and list item, keyed by its path in the document."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _index_lines(value, (*path, key.value), lines)
            lines[(*path, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*path, index), lines)
