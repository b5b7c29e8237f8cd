"""A cassette: recorded exchanges in one readable YAML file, redacted before it is written.

One file holds ``version`` and ``interactions``. Each interaction keeps the request (method, path below
the dialect's base, dialect, headers without secrets, body), the response (status, headers, and either a
JSON ``body`` or the stream's ``frames``, each with ``t``: milliseconds from the request being sent), the
normalised ``turn`` (role, text, tool calls, usage) for matching, diffs and hand edits, and any ``drift``:
where the recorded answer falls outside the official schema.

Files are read with ``yaml.safe_load`` and written atomically (a temporary file, then a rename), so a
crash never leaves half a cassette.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from mockserver.errors import MockserverError
from mockserver.resources import UserYamlLoader

VERSION = 1
REDACTED = "<redacted>"
MAX_FILE_BYTES = 64 * 1024 * 1024
SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "x-goog-api-key", "cookie", "set-cookie",
                            "proxy-authorization", "openai-organization", "openai-project"})
KEPT_RESPONSE_HEADERS = ("content-type", "x-request-id", "request-id", "openai-processing-ms", "openai-version",
                         "retry-after", "retry-after-ms")
SECRET_TEXT = re.compile(
    r"\bsk-[A-Za-z0-9_\-]{16,}|\bBearer\s+[A-Za-z0-9._~+/\-]{8,}=*|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{22,}"  # GitHub classic and fine-grained tokens
    r"|\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|\bwhsec_[A-Za-z0-9]{16,}"  # Stripe keys and webhook secrets
    r"|\bxox[abposr]-[A-Za-z0-9\-]{10,}|\bxapp-[A-Za-z0-9\-]{10,}"  # Slack tokens
    r"|\bAIza[0-9A-Za-z_\-]{35}\b|\bya29\.[0-9A-Za-z_\-]{20,}"  # Google API keys and OAuth tokens
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"  # PEM private keys, body included
)
NAMED_SECRET = re.compile(r"((?:aws|secret)[\w\-]*[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])",
                          re.IGNORECASE)
"""An AWS secret access key (40 base-64 characters) where its name stands before it: ``aws_secret...=KEY``."""
SECRET_MARKERS = ("sk-", "Bearer", "AKIA", "ASIA", "eyJ", "gh", "github_pat_", "_live_", "_test_", "whsec_", "xox",
                  "xapp-", "AIza", "ya29.", "PRIVATE KEY")
"""A literal every pattern of :data:`SECRET_TEXT` starts with (or holds): a text with none of them is not searched,
which a 15 MB answer would take seconds for."""
SECRET_FIELDS = frozenset({"password", "passwd", "secret", "client_secret", "api_key", "apikey", "access_token",
                           "refresh_token", "private_key"})
"""Body fields whose value is a credential whatever it looks like (besides those named with --redact-field)."""


class CassetteError(MockserverError, ValueError):
    """A cassette file that cannot be read; the message names the file and, where known, the line."""


@dataclass
class Frame:
    """One server-sent event as it went out (without its closing blank line) and when."""

    t: float
    data: str


@dataclass
class Interaction:
    method: str
    path: str
    dialect: str
    request_headers: dict[str, str]
    request_body: Any
    status: int
    response_headers: dict[str, str]
    body: Any = None
    frames: list[Frame] | None = None
    turn: dict[str, Any] | None = None
    drift: list[str] = field(default_factory=list)

    @property
    def stream(self) -> bool:
        return self.frames is not None

    def as_data(self) -> dict[str, Any]:
        response: dict[str, Any] = {"status": self.status, "headers": self.response_headers}
        if self.frames is not None:
            response["frames"] = [{"t": round(frame.t, 1), "data": frame.data} for frame in self.frames]
        else:
            response["body"] = self.body
        data: dict[str, Any] = {
            "request": {"method": self.method, "path": self.path, "dialect": self.dialect,
                        "headers": self.request_headers, "body": self.request_body},
            "response": response,
        }
        if self.turn is not None:
            data["turn"] = self.turn
        if self.drift:
            data["drift"] = self.drift
        return data

    @classmethod
    def from_data(cls, data: Any, where: str) -> Interaction:
        if not isinstance(data, dict):
            raise CassetteError(f"{where}: an interaction is a mapping with 'request' and 'response'")
        request, response = data.get("request"), data.get("response")
        if not isinstance(request, dict) or not isinstance(response, dict):
            raise CassetteError(f"{where}: an interaction needs a 'request' and a 'response' mapping")
        for name in ("method", "path"):
            if not isinstance(request.get(name), str):
                raise CassetteError(f"{where}: request.{name} must be a string")
        if not isinstance(response.get("status"), int):
            raise CassetteError(f"{where}: response.status must be an integer")
        frames = response.get("frames")
        if frames is not None:
            if not isinstance(frames, list) or not all(
                isinstance(item, dict) and isinstance(item.get("t"), int | float) and isinstance(item.get("data"), str)
                for item in frames
            ):
                raise CassetteError(f"{where}: response.frames is a list of {{t: milliseconds, data: text}}")
            frames = [Frame(float(item["t"]), item["data"]) for item in frames]
        elif "body" not in response:
            raise CassetteError(f"{where}: the response has neither a 'body' nor 'frames'")
        return cls(
            method=request["method"].upper(),
            path=request["path"],
            dialect=str(request.get("dialect") or "openai"),
            request_headers=dict(request.get("headers") or {}),
            request_body=request.get("body"),
            status=response["status"],
            response_headers={str(key).lower(): str(value) for key, value in (response.get("headers") or {}).items()},
            body=response.get("body"),
            frames=frames,
            turn=data.get("turn"),
            drift=list(data.get("drift") or ()),
        )


@dataclass
class Cassette:
    path: Path
    interactions: list[Interaction] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Cassette:
        """The cassette at ``path`` (an empty one when there is no file yet)."""
        if not path.exists():
            return cls(path)
        if path.is_file() and path.stat().st_size > MAX_FILE_BYTES:
            raise CassetteError(f"{path}: {path.stat().st_size:,} bytes is more than a cassette may hold "
                                f"({MAX_FILE_BYTES:,}); split it")
        try:
            data = yaml.load(_Pieces(path.read_text(encoding="utf-8")), Loader=_FAST_LOADER)
            _refuse_shared(data)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise CassetteError(f"{path}{line}: not valid YAML ({getattr(error, 'problem', error)})") from None
        except UnicodeDecodeError:
            raise CassetteError(f"{path}: not UTF-8 text") from None
        except OSError as error:  # a directory, a dangling link, no permission
            raise CassetteError(f"{path}: cannot be read ({error.strerror or error})") from None
        if data is None:
            return cls(path)
        if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
            raise CassetteError(f"{path}: a cassette is a mapping with an 'interactions' list")
        return cls(path, [Interaction.from_data(item, f"{path}: interaction {index}")
                          for index, item in enumerate(data["interactions"])])

    def save(self, redact_fields: tuple[str, ...] = ()) -> None:
        """Write the cassette, redacted, atomically."""
        self.write(list(self.interactions), redact_fields)

    def write(self, interactions: list[Interaction], redact_fields: tuple[str, ...] = ()) -> None:
        """Write ``interactions`` (a copy of the list: more may be recorded meanwhile, since this runs on a worker
        thread), redacted, atomically (a temporary file, then a rename), if they fit the bound."""
        data = {"version": VERSION, "interactions": [
            redacted(interaction.as_data(), redact_fields) for interaction in interactions]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                yaml.dump(data, _BoundedOut(out, self.path), Dumper=_Dumper, encoding="utf-8", sort_keys=False,
                          allow_unicode=True, width=120)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


class _Pieces:
    """A text handed to libyaml a piece at a time: each call of this Python method lets another thread take the
    GIL, which libyaml would otherwise hold while it scans one long string (about 10 ms a megabyte)."""

    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def read(self, size: int = -1, /) -> str:
        size = len(self.text) if size < 0 else size
        piece = self.text[self.at:self.at + size]
        self.at += len(piece)
        return piece


class _BoundedOut:
    """libyaml's output, a piece at a time (so other threads take the GIL between pieces, as with
    :class:`_Pieces`), refused once it passes :data:`MAX_FILE_BYTES`: the file never outgrows what is read."""

    def __init__(self, out: BinaryIO, path: Path) -> None:
        self.out, self.path, self.written = out, path, 0

    def write(self, piece: bytes) -> None:
        self.written += len(piece)
        if self.written > MAX_FILE_BYTES:
            raise CassetteError(f"{self.path}: recording this answer would make the cassette more than "
                                f"{MAX_FILE_BYTES:,} bytes; record into another cassette")
        self.out.write(piece)


def redacted(value: Any, fields: tuple[str, ...] = (), key: str | None = None) -> Any:
    """``value`` with secret headers, the named body fields and secret-looking strings replaced."""
    if key is not None and (key.lower() in SECRET_HEADERS or key.lower() in SECRET_FIELDS or key in fields):
        return REDACTED
    if isinstance(value, dict):
        return {name: redacted(item, fields, str(name)) for name, item in value.items()}
    if isinstance(value, list):
        return [redacted(item, fields) for item in value]
    if isinstance(value, str):
        if any(marker in value for marker in SECRET_MARKERS):
            value = SECRET_TEXT.sub(REDACTED, value)
        lowered = value.lower()  # plain substring tests: a regular expression's scan holds the GIL far longer
        if "aws" in lowered or "secret" in lowered:
            value = NAMED_SECRET.sub(r"\1" + REDACTED, value)
        return value
    return value


def safe_headers(headers: Any) -> dict[str, str]:
    """Request headers worth keeping: everything but the secrets, which are redacted."""
    return {name.lower(): REDACTED if name.lower() in SECRET_HEADERS else value for name, value in headers.items()}


_FAST_LOADER = getattr(yaml, "CSafeLoader", UserYamlLoader)
"""libyaml's loader where PyYAML has it (an 18 MiB cassette: seconds, not a minute); aliases are refused after."""
_FAST_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _refuse_shared(data: Any) -> None:
    """An alias (``*name``) loads as a value reached twice: refused, as :class:`UserYamlLoader` refuses it, so a
    few bytes of nested aliases never become billions of values when the cassette is walked."""
    seen: set[int] = set()
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, dict | list):
            if id(value) in seen:
                raise yaml.YAMLError("aliases (*name) are not accepted in mockserver's files: write the value out")
            seen.add(id(value))
            pending.extend(value.values() if isinstance(value, dict) else value)


class _Dumper(_FAST_DUMPER):  # type: ignore[misc, valid-type]
    def ignore_aliases(self, data: Any) -> bool:
        return True  # a value written twice (the turn's usage) is written out twice, never as an alias


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Multi-line text (an event with ``event:`` and ``data:`` lines) as a literal block: readable, diffable."""
    style = "|" if "\n" in value and not value.endswith((" ", "\n")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)
