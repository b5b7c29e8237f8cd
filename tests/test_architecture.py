"""The layers of the package hold: who may import whom, no import cycle, and a light control plane.

The map is docs/architecture.md; ``LAYERS`` below is the same picture as data.
Imports are read from the source (every ``import`` statement, those under
``TYPE_CHECKING`` and inside functions included), so a cycle hidden from the
interpreter is still a cycle here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mockserver"

CORE = ("mockserver._version", "mockserver.errors", "mockserver.config", "mockserver.determinism", "mockserver.patterns",
        "mockserver.messages", "mockserver.resources", "mockserver.journal", "mockserver.clock",
        "mockserver.constructors")
# Each layer, by module prefix, and the layers it may import besides its own. The app layer (everything
# else: state, pipeline, app, openapi, admin, server, cli, plugin, ...) composes them all.
LAYERS: dict[str, tuple[str, ...]] = {
    "core": (),
    "mockserver.dialects": ("core",),
    "mockserver.storage": ("core",),
    "mockserver.validation": ("core",),
    "mockserver.conformance": ("core",),
    "mockserver.control": ("core", "mockserver.asgi.context"),
    "mockserver.generation": ("core", "mockserver.dialects", "mockserver.control.decision"),
    "mockserver.asgi": ("core", "mockserver.control"),
    "mockserver.fleet": ("core", "mockserver.control", "mockserver.asgi", "mockserver.storage"),
    "mockserver.cassettes": ("core", "mockserver.dialects", "mockserver.conformance", "mockserver.asgi",
                             "mockserver.generation"),
    "mockserver.services": ("core", "mockserver.dialects", "mockserver.storage", "mockserver.validation", "mockserver.control",
                            "mockserver.generation", "mockserver.asgi"),
    "mockserver.endpoints": ("core", "mockserver.dialects", "mockserver.storage", "mockserver.validation",
                             "mockserver.conformance", "mockserver.control", "mockserver.generation",
                             "mockserver.asgi", "mockserver.services", "mockserver.app.state"),
}
# What every family shares under endpoints/ without being a family: the Endpoint declaration, the form reader and
# the spec engine (its library and its fallback).
SHARED_BY_FAMILIES = ("mockserver.endpoints", "mockserver.endpoints.base", "mockserver.endpoints.forms",
                      "mockserver.endpoints.engine")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(module: str) -> set[str]:
    """The mockserver modules ``module`` imports, wherever the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "mockserver":
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "mockserver")
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def layer_of(module: str) -> str | None:
    """The layer a module belongs to (the longest matching prefix), None for the app layer."""
    if module in CORE:
        return "core"
    owners = [prefix for prefix in LAYERS if prefix != "core" and (module == prefix or module.startswith(prefix + "."))]
    return max(owners, key=len) if owners else None


def allowed(source: str, target: str) -> bool:
    layer = layer_of(source)
    if layer is None:
        return True
    target_layer = layer_of(target)
    if target_layer == layer:
        return True
    return any(target == grant or target.startswith(grant + ".") or target_layer == grant for grant in LAYERS[layer])


def test_every_module_imports_only_what_its_layer_may() -> None:
    wrong = sorted(
        f"{source} imports {target}"
        for source, targets in GRAPH.items()
        for target in targets
        if not allowed(source, target)
    )
    assert not wrong, "layer rules broken (see docs/architecture.md):\n" + "\n".join(wrong)


def test_the_rules_would_catch_a_violation() -> None:
    assert not allowed("mockserver.generation.chat", "mockserver.asgi.wire")
    assert not allowed("mockserver.control.plane", "mockserver.generation.chat")
    assert not allowed("mockserver.journal", "mockserver.control.faults")
    assert not allowed("mockserver.storage.sqlite", "mockserver.endpoints.serika.jobs")
    assert not allowed("mockserver.asgi.wire", "mockserver.app.state")
    assert allowed("mockserver.endpoints.models", "mockserver.app.state")


def family_of(module: str) -> str | None:
    """The API family a module belongs to (``mockserver.endpoints.chat``), None outside the families."""
    parts = module.split(".")
    if parts[:2] != ["mockserver", "endpoints"] or len(parts) < 3 or ".".join(parts[:3]) in SHARED_BY_FAMILIES:
        return None
    return ".".join(parts[:3])


def test_no_family_imports_another() -> None:
    """Families share services (chat, models, images) and the engine, never each other's modules."""
    crossing = sorted(
        f"{source} imports {target}"
        for source, targets in GRAPH.items()
        for target in targets
        if family_of(source) is not None and family_of(target) not in (None, family_of(source))
    )
    assert not crossing, "a family imports another (move what they share into mockserver.services):\n" + \
        "\n".join(crossing)


def test_the_family_rule_would_catch_a_crossing() -> None:
    assert family_of("mockserver.endpoints.serika.legacy") == "mockserver.endpoints.serika"
    assert family_of("mockserver.endpoints.models") == "mockserver.endpoints.models"
    assert family_of("mockserver.endpoints.base") is None and family_of("mockserver.services.chat") is None
    assert family_of("mockserver.endpoints.engine.lifecycle") is None


JOURNAL_WRITER = ("mockserver.asgi.wire", "mockserver.journal")
EXCHANGE_WRITES = ("note_body", "keep_body", "capture", "mark")


def _names_an_exchange(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "exchange") or (
        isinstance(node, ast.Attribute) and node.attr == "exchange")


def exchange_writes(module: str) -> list[int]:
    """Lines of ``module`` that set a field of a journal entry (``exchange.x = ...``) or call one of its writers."""
    lines = []
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AugAssign | ast.AnnAssign) else []
        for target in targets:
            for part in target.elts if isinstance(target, ast.Tuple) else [target]:
                if isinstance(part, ast.Attribute) and _names_an_exchange(part.value):
                    lines.append(node.lineno)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in EXCHANGE_WRITES
                and _names_an_exchange(node.func.value)):
            lines.append(node.lineno)
    return lines


def test_the_journal_has_one_writer() -> None:
    """Handlers, the control plane and the cassettes report what they did (the decision, the call's usage, the
    pipeline's outcome); only the wire layer writes the journal entry."""
    writers = {module: lines for module in MODULES if module not in JOURNAL_WRITER
               if (lines := exchange_writes(module))}
    assert not writers, f"journal entries written outside the wire layer: {writers}"
    assert exchange_writes("mockserver.asgi.wire"), "the rule would not see the wire layer's own writes"


def context_writes(module: str) -> list[int]:
    """Lines of ``module`` that set a field of a request context (``context.x = ...``, ``call.context.x = ...``)."""
    lines = []
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Assign | ast.AugAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Attribute) and (
                        (isinstance(target.value, ast.Name) and target.value.id == "context")
                        or (isinstance(target.value, ast.Attribute) and target.value.attr == "context")):
                    lines.append(node.lineno)
    return lines


def test_the_request_context_is_read_only_after_decide() -> None:
    """Only the steps up to *decide* complete the request context (the wire layer, the body parser, the pipeline,
    the control plane); what generates the answer reports through the call, never by writing the context."""
    generating = ("mockserver.endpoints", "mockserver.services", "mockserver.generation", "mockserver.cassettes")
    writers = {module: lines for module in MODULES if module.startswith(generating)
               if (lines := context_writes(module))}
    assert not writers, f"request context written after decide: {writers}"
    assert context_writes("mockserver.app.pipeline"), "the rule would not see the pipeline's own writes"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_there_is_no_import_cycle() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", ["mockserver.control.decision", "mockserver.control.faults",
                                    "mockserver.control.plane"])
def test_the_control_plane_is_light(module: str) -> None:
    """Importing the control plane loads neither the generator nor jsonschema, faker or the tokenizer."""
    heavy = ("mockserver.generation", "mockserver.endpoints", "jsonschema", "faker", "bpe_openai", "starlette")
    probe = f"import sys, {module}; print('\\n'.join(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert not [name for name in loaded if name.startswith(heavy)]


def test_generation_does_not_import_the_asgi_or_app_layer() -> None:
    for module, targets in GRAPH.items():
        if module.startswith("mockserver.generation"):
            assert all(layer_of(target) is not None for target in targets), (module, targets)
            assert not any(target.startswith("mockserver.asgi") for target in targets), module


def test_the_validation_mode_is_read_in_one_place() -> None:
    """``--validation`` is turned into :class:`~mockserver.validation.Checks` once (``AppState.checks``); families
    and services ask what it means (``checks.provider_rules``...) and the pipeline validates, never the mode."""
    below_the_app = ("mockserver.endpoints", "mockserver.services", "mockserver.generation", "mockserver.cassettes",
                     "mockserver.control", "mockserver.asgi")
    readers = sorted(module for module in MODULES if module.startswith(below_the_app)
                     and "config.validation" in MODULES[module].read_text())
    assert not readers, f"these read --validation themselves instead of AppState.checks: {readers}"


def test_the_top_level_says_what_the_product_is() -> None:
    """The app layer lives in ``mockserver/app``; the package's top level keeps the entry points, the core and the
    public ``faults`` path, at most 17 modules."""
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= 17, top
    assert not {"state.py", "pipeline.py", "admin.py", "server.py", "app.py"} & set(top)
