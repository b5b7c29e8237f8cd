"""Vendor the operations an official SDK calls, from the SDK's own types, for the spec engine.

A Stainless-generated SDK's resource modules say, for each call, the method and path, the body's parameter
type (a ``TypedDict``, or a dict of the method's own keyword arguments) and the answer's model (a pydantic
model, or a page of them). This script reads those calls from the installed package's source (the sync
resource classes, by AST), takes each type's JSON Schema from pydantic, and writes operations in the shape of
``schemas/openai/operations.json``, their schemas under prefixed ``$defs`` names so they never meet another's:

- ``--sdk openai``: what openai-python calls that the pinned spec lacks (``/agents``, ``/webhooks``…), to
  ``schemas/openai/sdk-operations.json``, names prefixed ``sdk.``; the spec's own operations keep its schemas.
- ``--sdk anthropic``: Anthropic's API beyond the Messages family's hand-written endpoints (files, skills,
  user profiles, the Admin API under ``/v1/organizations``), from the ``anthropic`` SDK (Apache-2.0, licence in
  ``schemas/anthropic/LICENSE``), to ``schemas/anthropic/operations.json``, names prefixed ``anthropic.``; beta
  resources are left out.

Usage::

    python schemas/tools/vendor_sdk_operations.py --sdk openai|anthropic [--out FILE]

It skips every call whose types it cannot turn into a schema, saying which.
"""

from __future__ import annotations

import argparse
import ast
import collections.abc
import importlib
import json
import re
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import typing_extensions

ROOT = Path(__file__).resolve().parents[2]
CALLS = {"_post": "POST", "_get": "GET", "_delete": "DELETE", "_patch": "PATCH", "_put": "PUT",
         "_get_api_list": "GET"}
_PARAMETER = re.compile(r"\{(\w+)\}")
NOT_BODY = {"self", "extra_headers", "extra_query", "extra_body", "timeout"}


@dataclass(frozen=True)
class Sdk:
    """One SDK as this script reads it."""

    package: str
    prefix: str  # of its ``$defs`` names
    out: Path
    pages: dict[str, tuple[str, ...]]  # page class -> its fields, ``data`` first
    page_object: bool  # whether a page says ``"object": "list"``
    path_prefix: str = ""  # what its paths start with that the mock's mount already says (``/v1``)
    skipped: tuple[str, ...] = ()  # resource modules (dotted, under ``resources``) left out
    documented: Path | None = None  # operations already vendored from a spec, left out


SDKS = {
    "openai": Sdk(
        package="openai", prefix="sdk.", out=ROOT / "schemas" / "openai" / "sdk-operations.json",
        pages={"SyncCursorPage": ("data", "has_more", "first_id", "last_id"),
               "SyncConversationCursorPage": ("data", "has_more", "first_id", "last_id"),
               "SyncPage": ("data",),
               "SyncNextCursorPage": ("data", "has_more", "next_cursor"),
               "SyncTokenPage": ("data", "has_more", "next")},
        page_object=True, documented=ROOT / "schemas" / "openai" / "operations.json"),
    "anthropic": Sdk(
        package="anthropic", prefix="anthropic.", out=ROOT / "schemas" / "anthropic" / "operations.json",
        pages={"SyncPage": ("data", "has_more", "first_id", "last_id"),
               "SyncTokenPage": ("data", "has_more", "next_page"),
               "SyncPageCursor": ("data", "next_page"),
               "SyncBidirectionalPageCursor": ("data", "next_page", "prev_page"),
               "SyncReportPageCursor": ("data", "next_page", "has_more")},
        page_object=False, path_prefix="/v1",
        # beta resources are not the API's; messages (batches, count_tokens) and models are hand-written
        skipped=("beta", "messages", "models")),
}


class Collected:
    """The schemas gathered so far, by their ``$defs`` name."""

    def __init__(self, sdk: Sdk) -> None:
        self.sdk = sdk
        self.defs: dict[str, Any] = {}

    def schema_of(self, kind: str, target: Any, dotted: str) -> dict[str, Any]:
        """A reference to the schema of ``target`` (named ``dotted`` where it is defined): a model or union
        of models as answered, a TypedDict as a body."""
        types_package = f"{self.sdk.package}.types."
        module = dotted.rsplit(".", 1)[0].removeprefix(types_package)
        name = self.sdk.prefix + dotted.removeprefix(types_package)
        if name not in self.defs:
            adapter = pydantic.TypeAdapter(target)
            schema = adapter.json_schema(mode="serialization" if kind == "answer" else "validation",
                                         ref_template=f"{self.sdk.prefix}{module}.{{model}}")
            for nested_name, nested_schema in schema.pop("$defs", {}).items():
                self.defs.setdefault(f"{self.sdk.prefix}{module}.{nested_name}", _refs(nested_schema))
            self.defs[name] = _refs(schema)
        return {"$ref": f"#/$defs/{name}"}

    def arguments_of(self, where: str, keys: list[str], form: bool) -> dict[str, Any]:
        """A reference to the schema of a body the SDK builds as a dict of the method's own keyword arguments
        (``body={"role": role}``): each key typed as the method's signature types it, required where it has no
        default; a file of a form is binary."""
        module_path, class_name, method_name = where.rsplit(".", 2)
        method = getattr(getattr(importlib.import_module(module_path), class_name), method_name)
        hints = typing.get_type_hints(method)
        defaults = method.__kwdefaults__ or {}
        fields = {}
        for key in keys:
            kind = _plain(hints[key], form)
            fields[key] = kind if key in defaults else typing_extensions.Required[kind]
        body = typing_extensions.TypedDict(f"{class_name}_{method_name}_body", fields, total=False)  # type: ignore[operator]
        return self.schema_of("body", body, f"{module_path.removeprefix(self.sdk.package + '.resources.')}."
                                            f"{class_name}.{method_name}.Body")

    def without(self, reference: dict[str, Any], names: list[str]) -> None:
        """The body schema ``reference`` names, less the path parameters its TypedDict also lists."""
        schema = self.defs[reference["$ref"].removeprefix("#/$defs/")]
        for name in names:
            schema.get("properties", {}).pop(name, None)
            if name in schema.get("required", []):
                schema["required"].remove(name)


class _Binary:
    """A file field of a form: any bytes."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core: Any, handler: Any) -> dict[str, Any]:
        return {"type": "string", "format": "binary"}

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema
        return core_schema.any_schema()


def _plain(hint: Any, form: bool) -> Any:
    """A signature's type as pydantic reads a body: ``Omit`` and ``NotGiven`` dropped, the SDK's sequences
    made lists, its file types binary."""
    name = getattr(hint, "__name__", "") or getattr(getattr(hint, "__origin__", None), "__name__", "")
    if name in ("FileTypes", "FileContent") or (form and hint in (bytes, typing.IO)):
        return _Binary
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        kept = tuple(_plain(argument, form) for argument in arguments
                     if getattr(argument, "__name__", "") not in ("Omit", "NotGiven"))
        if any(kind is _Binary for kind in kept):
            return _Binary
        return kept[0] if len(kept) == 1 else typing.Union[kept]  # noqa: UP007
    if getattr(origin, "__name__", "") == "SequenceNotStr" or origin in (collections.abc.Iterable,
                                                                         collections.abc.Sequence):
        return list[_plain(arguments[0], form)]  # type: ignore[misc]
    return hint



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


def calls_in(path: Path, sdk: Sdk) -> list[dict[str, Any]]:
    """Every SDK call a sync resource class of ``path`` makes: method, path, the type expressions and the keys of
    a body or query built as a dict."""
    root = Path(importlib.import_module(sdk.package).__file__ or "").parent
    module = sdk.package + "." + ".".join(path.relative_to(root).with_suffix("").parts)
    tree = ast.parse(path.read_text())
    names = _imports(tree, module)
    found = []
    classes = (node for node in tree.body if isinstance(node, ast.ClassDef) and not node.name.startswith("Async"))
    methods = ((cls, method) for cls in classes for method in cls.body if isinstance(method, ast.FunctionDef))
    for cls, method in methods:
        assigned = {target.id: statement.value for statement in ast.walk(method) if isinstance(statement, ast.Assign)
                    for target in statement.targets if isinstance(target, ast.Name)}
        for node in ast.walk(method):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in CALLS and getattr(node.func.value, "id", "") == "self" and node.args):
                continue
            url = _path(node.args[0])
            if url is None or not url.startswith(sdk.path_prefix):
                continue
            keywords = {keyword.arg: keyword.value for keyword in node.keywords if keyword.arg}
            found.append({"method": CALLS[node.func.attr], "path": url.removeprefix(sdk.path_prefix),
                          "keywords": keywords, "names": names, "listing": node.func.attr == "_get_api_list",
                          "body_keys": _dict_keys(keywords.get("body"), assigned),
                          "query_keys": _dict_keys(_option(keywords, "query"), assigned),
                          "where": f"{module}.{cls.name}.{method.name}"})
    return found


def _dict_keys(node: ast.expr | None, assigned: dict[str, ast.expr]) -> list[str]:
    """The keys of the dict a body or query is built from (``{"role": role}``, or a name assigned one, as
    ``body = deepcopy_with_paths({...})`` is), when it is built from one."""
    if isinstance(node, ast.Name):
        node = assigned.get(node.id)
    if isinstance(node, ast.Call) and node.args:
        node = node.args[0]
    if not isinstance(node, ast.Dict):
        return []
    return [key.value for key in node.keys if isinstance(key, ast.Constant) and isinstance(key.value, str)]


def _option(keywords: dict[str, ast.expr], name: str) -> ast.expr | None:
    options = keywords.get("options")
    for keyword in options.keywords if isinstance(options, ast.Call) else []:
        if keyword.arg == name:
            return keyword.value
    return None


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
    query = _option(keywords, "query")
    if isinstance(query, ast.Call) and len(query.args) == 2:
        return _resolve(query.args[1], names)[0]
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
        sdk = collected.sdk
        if page_name not in sdk.pages or not _answerable(item):
            return None
        fields = sdk.pages[page_name]
        properties: dict[str, Any] = {"data": {"type": "array", "items": collected.schema_of("answer", item, dotted)}}
        if sdk.page_object:
            properties["object"] = {"type": "string", "const": "list"}
        properties.update({key: {"type": ["boolean", "null"] if not sdk.page_object else "boolean"}
                           if key == "has_more" else {"type": ["string", "null"]} for key in fields[1:]})
        # openai's pages name every field; the fields of anthropic's are optional but ``data``
        required = ["object", *fields] if sdk.page_object else ["data"]
        answer = {"type": "object", "required": required, "properties": properties}
    else:
        cast_to = ast.unparse(keywords["cast_to"]) if "cast_to" in keywords else ""
        target, dotted = _resolve(keywords["cast_to"], names) if cast_to else (None, "")
        if cast_to == "NoneType":  # the SDK reads no answer: an empty one
            answer = None
        elif cast_to.endswith(("BinaryResponseContent", "BinaryAPIResponse")):
            answer = {"type": "string", "format": "binary"}
        elif _answerable(target):
            answer = collected.schema_of("answer", target, dotted)
        else:
            return None
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in _PARAMETER.findall(call["path"])]
    query = _query_type(keywords, names)
    for name in getattr(query, "__annotations__", {}) if query is not None else call["query_keys"]:
        parameters.append({"name": name, "in": "query", "required": False, "schema": {}})
    request: dict[str, Any] = {}
    bodies = _body_types(keywords, names)
    media = "multipart/form-data" if "files" in keywords else "application/json"
    if bodies:
        references = [collected.schema_of("body", body, dotted) for body, dotted in bodies]
        for reference in references:
            collected.without(reference, [parameter["name"] for parameter in parameters if parameter["in"] == "path"])
        request[media] = references[0] if len(references) == 1 else {"anyOf": references}
    elif call["body_keys"]:
        request[media] = collected.arguments_of(call["where"], call["body_keys"], media != "application/json")
    responses = _media(answer)
    event = _stream_event(keywords, names)
    if event is not None:  # the call streams with ``stream: true``: the events are of this type
        responses["text/event-stream"] = collected.schema_of("answer", *event)
    return {"id": collected.sdk.prefix + call["where"].removeprefix(collected.sdk.package + ".resources."),
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
    parser.add_argument("--sdk", choices=sorted(SDKS), default="openai")
    parser.add_argument("--out", type=Path, help="where to write (default: the SDK's vendored file)")
    arguments = parser.parse_args()
    sdk = SDKS[arguments.sdk]
    package = importlib.import_module(sdk.package)
    documented = {(entry["method"], entry["path"])
                  for entry in json.loads(sdk.documented.read_text())["operations"]} if sdk.documented else set()
    collected = Collected(sdk)
    operations: dict[tuple[str, str], dict[str, Any]] = {}
    skipped = []
    resources = Path(package.__file__ or "").parent / "resources"
    for path in sorted(resources.rglob("*.py")):
        if path.relative_to(resources).parts[0].removesuffix(".py") in sdk.skipped:
            continue
        for call in calls_in(path, sdk):
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
    document = {"sdk": f"{sdk.package}-python {package.__version__}", "operations": list(operations.values()),
                "$defs": collected.defs}
    out = arguments.out or sdk.out
    out.write_text(json.dumps(document, indent=None, sort_keys=True) + "\n")
    print(f"{len(operations)} operations, {len(collected.defs)} schemas -> {out}", file=sys.stderr)
    for line in skipped:
        print(f"  skipped {line}", file=sys.stderr)


if __name__ == "__main__":
    main()
