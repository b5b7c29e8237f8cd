"""Vendor the operations openai-python calls that the pinned spec does not have, from the SDK's own types.

The SDK is generated from a newer spec than the one vendored in ``schemas/openai/``; it calls
operations (``/agents``, ``/webhooks``, ``/live/sessions``…) that spec lacks. Its resource modules say,
for each, the method and path, the body's parameter type (a ``TypedDict``) and the answer's model (a
pydantic model, or a page of them). This script reads those calls from the installed package's source
(the sync resource classes, by AST), takes each type's JSON Schema from pydantic, and writes
``schemas/openai/sdk-operations.json``: operations in the shape of ``operations.json``, and their schemas
under ``$defs`` names prefixed ``sdk.`` so they never meet the spec's own.

Usage::

    python schemas/tools/vendor_sdk_operations.py [--out FILE]

It skips every operation the pinned spec documents (those keep the spec's schemas), and every call whose
types it cannot turn into a schema, saying which.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import re
import sys
import typing
from pathlib import Path
from typing import Any

import openai
import pydantic

ROOT = Path(__file__).resolve().parents[2]
SPEC_OPERATIONS = ROOT / "schemas" / "openai" / "operations.json"
CALLS = {"_post": "POST", "_get": "GET", "_delete": "DELETE", "_patch": "PATCH", "_put": "PUT",
         "_get_api_list": "GET"}
PAGES = {
    "SyncCursorPage": ("data", "has_more", "first_id", "last_id"),
    "SyncConversationCursorPage": ("data", "has_more", "first_id", "last_id"),
    "SyncPage": ("data",),
    "SyncNextCursorPage": ("data", "has_more", "next_cursor"),
    "SyncTokenPage": ("data", "has_more", "next"),
}
PREFIX = "sdk."
_PARAMETER = re.compile(r"\{(\w+)\}")


class Collected:
    """The schemas gathered so far, by their ``$defs`` name."""

    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def schema_of(self, kind: str, target: Any, dotted: str) -> dict[str, Any]:
        """A reference to the schema of ``target`` (named ``dotted`` where it is defined): a model or union
        of models as answered, a TypedDict as a body."""
        module = dotted.rsplit(".", 1)[0].removeprefix("openai.types.")
        name = PREFIX + dotted.removeprefix("openai.types.")
        if name not in self.defs:
            adapter = pydantic.TypeAdapter(target)
            schema = adapter.json_schema(mode="serialization" if kind == "answer" else "validation",
                                         ref_template=f"{PREFIX}{module}.{{model}}")
            for nested_name, nested_schema in schema.pop("$defs", {}).items():
                self.defs.setdefault(f"{PREFIX}{module}.{nested_name}", _refs(nested_schema))
            self.defs[name] = _refs(schema)
        return {"$ref": f"#/$defs/{name}"}


    def without(self, reference: dict[str, Any], names: list[str]) -> None:
        """The body schema ``reference`` names, less the path parameters its TypedDict also lists."""
        schema = self.defs[reference["$ref"].removeprefix("#/$defs/")]
        for name in names:
            schema.get("properties", {}).pop(name, None)
            if name in schema.get("required", []):
                schema["required"].remove(name)


def _refs(schema: Any) -> Any:
    """pydantic's ``ref_template`` names made into ``#/$defs/`` references."""
    if isinstance(schema, dict):
        return {key: ("#/$defs/" + value if key == "$ref" and not value.startswith("#") else _refs(value))
                for key, value in schema.items()}
    if isinstance(schema, list):
        return [_refs(item) for item in schema]
    return schema


def _imports(tree: ast.Module, module: str) -> dict[str, str]:
    """Each name a resource module imports, as the dotted path it stands for."""
    package = module.rsplit(".", 1)[0]
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level \
                else node.module or ""
            for alias in node.names:
                found[alias.asname or alias.name] = f"{base}.{alias.name}"
    return found


def _resolve(node: ast.expr, names: dict[str, str]) -> tuple[Any, str]:
    """The object an expression like ``Agent`` or ``agent_create_params.AgentCreateParams`` names, and the
    dotted path it is defined at; (None, "") when it names nothing importable."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "cast":
        return _resolve(node.args[1], names)
    dotted = ast.unparse(node)
    head, _, rest = dotted.partition(".")
    if head not in names:
        return None, ""
    path = names[head] + ("." + rest if rest else "")
    module_path, _, attribute = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_path), attribute), path
    except (ImportError, AttributeError):
        return None, ""


def _answerable(target: Any) -> bool:
    """A model, or a union of them: not bytes, text or nothing."""
    if target is None or target in (str, bytes, type(None)):
        return False
    if isinstance(target, type):
        return issubclass(target, pydantic.BaseModel)
    return hasattr(target, "__origin__") or hasattr(target, "__metadata__") or hasattr(target, "__args__")


def _path(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "path_template" and node.args:
        first = node.args[0]
        return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
    return None


def calls_in(path: Path) -> list[dict[str, Any]]:
    """Every SDK call a sync resource class of ``path`` makes: method, path and the type expressions."""
    module = "openai." + ".".join(path.relative_to(Path(openai.__file__).parent).with_suffix("").parts)
    tree = ast.parse(path.read_text())
    names = _imports(tree, module)
    found = []
    classes = (node for node in tree.body if isinstance(node, ast.ClassDef) and not node.name.startswith("Async"))
    methods = ((cls, method) for cls in classes for method in cls.body if isinstance(method, ast.FunctionDef))
    for cls, method in methods:
        for node in ast.walk(method):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in CALLS and getattr(node.func.value, "id", "") == "self" and node.args):
                continue
            url = _path(node.args[0])
            if url is None:
                continue
            keywords = {keyword.arg: keyword.value for keyword in node.keywords if keyword.arg}
            found.append({"method": CALLS[node.func.attr], "path": url, "keywords": keywords, "names": names,
                          "listing": node.func.attr == "_get_api_list",
                          "where": f"{module}.{cls.name}.{method.name}"})
    return found


def _body_types(keywords: dict[str, ast.expr], names: dict[str, str]) -> list[tuple[Any, str]]:
    """The body's parameter types: one, or two where the SDK picks one by ``stream``."""
    body = keywords.get("body")
    if isinstance(body, ast.Call) and getattr(body.func, "id", "") in ("maybe_transform", "async_maybe_transform") \
            and len(body.args) == 2:
        kind = body.args[1]
        kinds = [kind.body, kind.orelse] if isinstance(kind, ast.IfExp) else [kind]
        return [found for found in (_resolve(each, names) for each in kinds) if found[0] is not None]
    return []


def _query_type(keywords: dict[str, ast.expr], names: dict[str, str]) -> Any:
    options = keywords.get("options")
    for keyword in options.keywords if isinstance(options, ast.Call) else []:
        if keyword.arg == "query" and isinstance(keyword.value, ast.Call) and len(keyword.value.args) == 2:
            return _resolve(keyword.value.args[1], names)[0]
    return None


def operation(call: dict[str, Any], collected: Collected) -> dict[str, Any] | None:
    """The operation a call stands for, or None when its answer is not a model (bytes, nothing)."""
    keywords, names = call["keywords"], call["names"]
    answer: dict[str, Any] | None
    if call["listing"]:
        page = keywords.get("page")
        if not isinstance(page, ast.Subscript):
            return None
        page_name = ast.unparse(page.value)
        item, dotted = _resolve(page.slice, names)
        if page_name not in PAGES or not _answerable(item):
            return None
        fields = PAGES[page_name]
        properties: dict[str, Any] = {"object": {"type": "string", "const": "list"},
                                      "data": {"type": "array", "items": collected.schema_of("answer", item, dotted)}}
        properties.update({key: {"type": "boolean"} if key == "has_more" else {"type": ["string", "null"]}
                           for key in fields[1:]})
        answer = {"type": "object", "required": ["object", *fields], "properties": properties}
    else:
        cast_to = ast.unparse(keywords["cast_to"]) if "cast_to" in keywords else ""
        target, dotted = _resolve(keywords["cast_to"], names) if cast_to else (None, "")
        if cast_to == "NoneType":  # the SDK reads no answer: an empty one
            answer = None
        elif cast_to.endswith("BinaryResponseContent"):
            answer = {"type": "string", "format": "binary"}
        elif _answerable(target):
            answer = collected.schema_of("answer", target, dotted)
        else:
            return None
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in _PARAMETER.findall(call["path"])]
    query = _query_type(keywords, names)
    for name in getattr(query, "__annotations__", {}) if query is not None else ():
        parameters.append({"name": name, "in": "query", "required": False, "schema": {}})
    request: dict[str, Any] = {}
    bodies = _body_types(keywords, names)
    if bodies:
        media = "multipart/form-data" if "files" in keywords else "application/json"
        references = [collected.schema_of("body", body, dotted) for body, dotted in bodies]
        for reference in references:
            collected.without(reference, [parameter["name"] for parameter in parameters if parameter["in"] == "path"])
        request[media] = references[0] if len(references) == 1 else {"anyOf": references}
    responses = _media(answer)
    event = _stream_event(keywords, names)
    if event is not None:  # the call streams with ``stream: true``: the events are of this type
        responses["text/event-stream"] = collected.schema_of("answer", *event)
    return {"id": "sdk." + call["where"].removeprefix("openai.resources."),
            "method": call["method"], "path": call["path"], "parameters": parameters, "request": request,
            "responses": {"200": responses}, "id_prefix": None, "example_object": None,
            "source": call["where"]}


def _stream_event(keywords: dict[str, ast.expr], names: dict[str, str]) -> tuple[Any, str] | None:
    """The event type of a call's ``stream_cls`` (``Stream[X]`` or a subclass of one), and where X is defined."""
    if "stream_cls" not in keywords:
        return None
    node = keywords["stream_cls"]
    if isinstance(node, ast.Subscript):
        event, dotted = _resolve(node.slice, names)
        return (event, dotted) if _answerable(event) else None
    stream, _ = _resolve(node, names)
    for base in getattr(stream, "__orig_bases__", ()):
        for event in typing.get_args(base):
            if _answerable(event):  # named as the stream's module imports it
                module = sys.modules[stream.__module__]
                name = next((key for key, value in vars(module).items() if value is event), "Event")
                return event, f"{stream.__module__}.{name}"
    return None


def _media(answer: dict[str, Any] | None) -> dict[str, Any]:
    if answer is None:
        return {}
    if answer.get("format") == "binary":
        return {"application/octet-stream": answer}
    return {"application/json": answer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "schemas" / "openai" / "sdk-operations.json")
    arguments = parser.parse_args()
    documented = {(entry["method"], entry["path"]) for entry in json.loads(SPEC_OPERATIONS.read_text())["operations"]}
    collected = Collected()
    operations: dict[tuple[str, str], dict[str, Any]] = {}
    skipped = []
    for path in sorted((Path(openai.__file__).parent / "resources").rglob("*.py")):
        for call in calls_in(path):
            key = (call["method"], call["path"])
            if key in documented or key in operations or "?" in call["path"]:
                continue
            try:
                made = operation(call, collected)
            except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError, TypeError) as failure:
                skipped.append(f"{key}: {type(failure).__name__}")
                continue
            if made is None:
                skipped.append(f"{key}: the answer is not a model")
                continue
            operations[key] = made
    document = {"sdk": f"openai-python {openai.__version__}", "operations": list(operations.values()),
                "$defs": collected.defs}
    arguments.out.write_text(json.dumps(document, indent=None, sort_keys=True) + "\n")
    print(f"{len(operations)} operations, {len(collected.defs)} schemas -> {arguments.out}", file=sys.stderr)
    for line in skipped:
        print(f"  skipped {line}", file=sys.stderr)


if __name__ == "__main__":
    main()
