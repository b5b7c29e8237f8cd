"""``mockserver cassettes check | to-fixtures | import-vcr``: the tools around cassette files."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import yaml

from mockserver.cassettes.format import SECRET_TEXT, Cassette, CassetteError, Frame, Interaction
from mockserver.cassettes.keys import match_key, model_alias
from mockserver.cassettes.replay import normalised_turn
from mockserver.messages import conversation
from mockserver.resources import UserYamlLoader

CASSETTE_SUFFIXES = (".yaml", ".yml")
OPENAI_PATHS = ("/chat/completions", "/responses", "/embeddings", "/completions", "/moderations",
                "/images/generations", "/audio/speech", "/audio/transcriptions")


def files(locations: list[str]) -> list[Path]:
    found: list[Path] = []
    for location in map(Path, locations):
        if location.is_dir():
            found += sorted(path for path in location.rglob("*") if path.suffix in CASSETTE_SUFFIXES)
        else:
            found.append(location)
    return found


def check(locations: list[str]) -> list[str]:
    """Every problem of every cassette, as ``file:line: what``; an empty list when all are sound."""
    problems: list[str] = []
    for path in files(locations):
        if not path.exists():
            problems.append(f"{path}: no such file")
            continue
        root = None
        try:
            root = yaml.compose(path.read_text(encoding="utf-8"), Loader=UserYamlLoader)
            Cassette.load(path)
        except CassetteError as error:
            problems.append(_located(error, path, root))
            continue
        except yaml.YAMLError as error:  # compose failed: Cassette.load would say the same, with the line
            mark = getattr(error, "problem_mark", None)
            problems.append(f"{path}:{mark.line + 1 if mark else 1}: not valid YAML")
            continue
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            if SECRET_TEXT.search(line):
                problems.append(f"{path}:{number}: a secret-looking string (an API key or a bearer token)")
    return problems


def _located(error: CassetteError, path: Path, root: Any) -> str:
    """The error with the line of the interaction it names, read off the YAML nodes."""
    message = str(error)
    marker = f"{path}: interaction "
    if not message.startswith(marker) or not isinstance(root, yaml.MappingNode):
        return message
    index = int(message[len(marker):].split(":", 1)[0])
    for key, value in root.value:
        if key.value == "interactions" and isinstance(value, yaml.SequenceNode) and index < len(value.value):
            line = value.value[index].start_mark.line + 1
            return f"{path}:{line}: interaction {index}:{message.split(':', 2)[2]}"
    return message


def count(locations: list[str]) -> int:
    return sum(len(Cassette.load(path).interactions) for path in files(locations))


def to_fixtures(locations: list[str], out: str) -> int:
    """Fixture rules that answer as the recordings did, one per recorded turn, written to ``out``."""
    rules = []
    for path in files(locations):
        for interaction in Cassette.load(path).interactions:
            turn = interaction.turn
            if turn is None:
                continue
            key = match_key(interaction.method, interaction.path, interaction.request_body)
            body = interaction.request_body if isinstance(interaction.request_body, dict) else {}
            users = sum(1 for message in conversation(body) if message.get("role") == "user")
            match: dict[str, Any] = {"dialect": interaction.dialect, "turn": max(1, users),
                                     "has_tool_result": key.tool_results}
            if body.get("model"):
                match["model"] = model_alias(body["model"])
            if key.last_user:
                match["message_contains"] = key.last_user
            rule: dict[str, Any] = {"match": match}
            if turn.get("tool_calls"):
                rule["tool_calls"] = [{"name": call["name"], "arguments": _arguments(call.get("arguments"))}
                                      for call in turn["tool_calls"]]
            else:
                rule["reply"] = turn.get("text") or ""
            rules.append(rule)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump({"rules": rules}, sort_keys=False, allow_unicode=True, width=120))
    return len(rules)


def _arguments(text: Any) -> Any:
    try:
        return orjson.loads(text) if isinstance(text, str) else text
    except orjson.JSONDecodeError:
        return text


def import_vcr(locations: list[str], out: str) -> int:
    """Each vcrpy cassette's OpenAI calls as a mockserver cassette of the same name under ``out``."""
    imported = 0
    for path in files(locations):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        cassette = Cassette(Path(out) / f"{path.stem}.yaml")
        for position, entry in enumerate(data.get("interactions") or ()):
            interaction = _from_vcr(entry, f"{path}: interaction {position}")
            if interaction is not None:
                cassette.interactions.append(interaction)
        if cassette.interactions:
            cassette.save()
            imported += len(cassette.interactions)
    return imported


def _from_vcr(entry: Any, where: str) -> Interaction | None:
    request, response = (entry or {}).get("request") or {}, (entry or {}).get("response") or {}
    path = urlsplit(str(request.get("uri", ""))).path
    endpoint = next((known for known in OPENAI_PATHS if path.endswith(known)), None)
    if endpoint is None:
        return None
    headers = {str(name).lower(): _first(value) for name, value in (response.get("headers") or {}).items()}
    raw = _text((response.get("body") or {}).get("string", ""))
    frames = body = None
    if headers.get("content-type", "").startswith("text/event-stream"):
        frames = [Frame(0.0, event) for event in raw.replace("\r\n", "\n").split("\n\n") if event.strip()]
    else:
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            raise CassetteError(f"{where}: the response body is not JSON (record with decode_compressed_response "
                                "so vcrpy keeps it readable)") from None
    request_body = _text(request.get("body") or "")
    return Interaction(
        method=str(request.get("method", "POST")).upper(), path=endpoint, dialect="openai",
        request_headers={"content-type": "application/json"},
        request_body=orjson.loads(request_body) if request_body else None,
        status=int((response.get("status") or {}).get("code", 200)),
        response_headers={name: value for name, value in headers.items() if name in ("content-type", "x-request-id")},
        body=body, frames=frames, turn=normalised_turn(body, frames),
    )


def _first(value: Any) -> str:
    return str(value[0]) if isinstance(value, list) and value else str(value)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")
