"""Server configuration: one dataclass, filled from flags, environment and a file.

Precedence is flags > ``MOCKSERVER_<FLAG>`` environment variables > the config
file (YAML or JSON, keys spelled like the flags with ``_`` or ``-``) > defaults.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from mockserver.errors import MockserverError
from mockserver.resources import UserYamlLoader

VALIDATION_MODES = ("strict", "schema", "off")
RECORD_MODES = ("none", "once", "new", "all")
STATE_SCHEMES = ("redis", "rediss", "unix")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
# Flags spelt as the negation of the setting they change: MOCKSERVER_NO_CONTROL=1 (or ``no_control: true``
# in a file) is ``control: false``, like ``--no-control``.
NEGATED = {"no_control": "control", "no_metrics": "metrics"}


class ConfigError(MockserverError, ValueError):
    """A configuration value that cannot be used; the message says which and why."""


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 8000
    seed: int = 0
    freeze_time: bool = False
    log_level: str = "info"
    dialect: str = "openai"
    validation: str = "strict"
    api_key: list[str] = field(default_factory=list)
    free_key: list[str] = field(default_factory=list)
    premium_key: list[str] = field(default_factory=list)
    reply_sentences: str = "2-4"
    fixtures: list[str] = field(default_factory=list)
    fault: list[str] = field(default_factory=list)
    rpm: int | None = None
    tpm: int | None = None
    journal_size: int = 1000
    journal_bytes: int = 64 * 1024 * 1024
    store_bytes: int = 64 * 1024 * 1024
    control: bool = True
    admin_token: str | None = None
    allowed_host: list[str] = field(default_factory=list)
    tls_cert: str | None = None
    tls_key: str | None = None
    max_body: int = 32 * 1024 * 1024
    workers: int = 1
    state_dir: str | None = None
    state: str = "memory"
    state_prefix: str = "mockserver"
    job_schedule: str = "1,2"
    request_timeout: float = 30.0
    retry_window: float = 10.0
    record: str | None = None
    cassettes: str | None = None
    record_mode: str | None = None
    upstream: list[str] = field(default_factory=list)
    upstream_key_env: str = "OPENAI_API_KEY"
    replay_speed: float = 1.0
    replay_ids: str = "kept"
    replay_usage: str = "kept"
    redact_field: list[str] = field(default_factory=list)
    metrics: bool = True

    @classmethod
    def load(
        cls,
        flags: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        file: str | os.PathLike[str] | None = None,
    ) -> Config:
        """Merge the sources; ``flags`` holds only what the user actually passed."""
        flags = {key: value for key, value in (flags or {}).items() if value is not None}
        env = os.environ if env is None else env
        file = file or flags.get("config") or env.get("MOCKSERVER_CONFIG")
        values: dict[str, Any] = {}
        if file:
            values.update(_read_file(Path(file)))
        for name in [item.name for item in dataclasses.fields(cls)] + list(NEGATED):
            raw = env.get("MOCKSERVER_" + name.upper())
            if raw is not None:
                values[name] = raw
        values.update({key: value for key, value in flags.items() if key != "config"})
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Config:
        known = {item.name: item for item in dataclasses.fields(cls)}
        converted: dict[str, Any] = {}
        for raw_key, value in values.items():
            key = raw_key.replace("-", "_")
            if key in NEGATED:
                converted[NEGATED[key]] = not _coerce(key, "bool", value)
                continue
            if key not in known:
                raise ConfigError(f"unknown setting {raw_key!r}; known settings: {', '.join(sorted(known))}")
            converted[key] = _coerce(key, known[key].type, value)
        config = cls(**converted)
        config.check()
        return config

    def check(self) -> None:
        if str(self.log_level).lower() not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        self.log_level = self.log_level.lower()
        if self.validation not in VALIDATION_MODES:
            raise ConfigError(f"validation must be one of {', '.join(VALIDATION_MODES)}, got {self.validation!r}")
        low, high = self.reply_range
        if not 1 <= low <= high:
            raise ConfigError(
                f"reply_sentences must look like '2-4' with 1 <= min <= max, got {self.reply_sentences!r}"
            )
        if self.journal_size < 0 or min(self.max_body, self.workers, self.journal_bytes, self.store_bytes) < 1:
            raise ConfigError("journal_size must be >= 0, max_body, journal_bytes, store_bytes and workers >= 1")
        if not self.retry_window >= 0:
            raise ConfigError(f"retry_window must be a number of seconds >= 0, got {self.retry_window!r}")
        if not self.request_timeout > 0:
            raise ConfigError(f"request_timeout must be a number of seconds above 0, got {self.request_timeout!r}")
        if any(limit is not None and limit < 1 for limit in (self.rpm, self.tpm)):
            raise ConfigError("rpm and tpm must be >= 1 (leave them unset for no limit)")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("tls_cert and tls_key go together: give the certificate (PEM) and its private key")
        for name in ("tls_cert", "tls_key"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"{name} {path!r} is not a file")
        if self.state != "memory" and urlsplit(self.state).scheme not in STATE_SCHEMES:
            raise ConfigError(f"state must be memory or a Redis URL (redis://HOST:PORT/DB, rediss://…, unix://…), "
                              f"got {self.state!r}")
        if not self.state_prefix or any(character in self.state_prefix for character in "*?[]"):
            raise ConfigError(f"state_prefix must be a non-empty key prefix without glob characters, got "
                              f"{self.state_prefix!r}")
        if self.record and self.cassettes:
            raise ConfigError("record and cassettes both name a cassette directory: give one (record records)")
        if self.record_mode is not None and self.record_mode not in RECORD_MODES:
            raise ConfigError(f"record_mode must be one of {', '.join(RECORD_MODES)}, got {self.record_mode!r}")
        if self.replay_ids not in ("kept", "seeded") or self.replay_usage not in ("kept", "recomputed"):
            raise ConfigError("replay_ids must be kept or seeded, and replay_usage kept or recomputed")
        if not self.replay_speed >= 0:
            raise ConfigError(f"replay_speed must be >= 0 (0: as fast as possible), got {self.replay_speed!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be 0-65535 (0 picks a free one), got {self.port}")
        _ = self.job_steps  # a malformed --job-schedule fails at start-up, not at the first GET /jobs/{id}

    @property
    def cassette_directory(self) -> str | None:
        return self.record or self.cassettes

    @property
    def cassette_mode(self) -> str:
        """``--record DIR`` records what is missing (``new``); ``--cassettes DIR`` only replays (``none``)."""
        return self.record_mode or ("new" if self.record else "none")

    @property
    def reply_range(self) -> tuple[int, int]:
        low, _, high = str(self.reply_sentences).partition("-")
        try:
            return int(low), int(high or low)
        except ValueError:
            raise ConfigError(f"reply_sentences must look like '2-4', got {self.reply_sentences!r}") from None

    @property
    def job_steps(self) -> tuple[float, float]:
        """Seconds after creation at which an async job starts processing, then completes."""
        try:
            parts = [float(part) for part in str(self.job_schedule).split(",")]
        except ValueError:
            parts = []
        if len(parts) != 2 or not 0 <= parts[0] <= parts[1]:
            raise ConfigError(
                f"job_schedule must be 'PROCESSING_AT,COMPLETED_AT' in seconds, got {self.job_schedule!r}"
            )
        return parts[0], parts[1]

    def as_public_dict(self) -> dict[str, Any]:
        """The configuration as shown by ``GET /_mock/config``: secrets masked."""
        data = dataclasses.asdict(self)
        for secret in ("api_key", "free_key", "premium_key"):
            data[secret] = [_mask(key) for key in data[secret]]
        data["admin_token"] = None if self.admin_token is None else "***"
        parts = urlsplit(self.state)
        if parts.password:
            data["state"] = parts._replace(netloc=f"{parts.username or ''}:***@{parts.hostname}"
                                           + (f":{parts.port}" if parts.port else "")).geturl()
        return data


def _mask(key: str) -> str:
    return key[:3] + "***" + key[-2:] if len(key) > 8 else "***"


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=UserYamlLoader)
    except (ValueError, yaml.YAMLError) as error:
        raise ConfigError(
            f"config file {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {error}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings")
    return data


MAX_DIGITS = 18
INT64 = 2**63
"""Past it (or below its negative) an integer is not a 64-bit one, which is all a provider or orjson reads."""


def whole_number(raw: str | bytes) -> int | None:
    """``raw`` as a whole number when it is one written in ASCII digits (at most 18 of them), else None.

    ``str.isdigit`` takes ``'²'``, which ``int`` refuses, and ``int`` refuses more than 4,300 digits: both
    were 500s where a client's query or header held them."""
    if not raw or len(raw) > MAX_DIGITS or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)


def _coerce(key: str, kind: Any, value: Any) -> Any:
    kind = str(kind)
    try:
        if kind.startswith("list"):
            if isinstance(value, str):
                return [part.strip() for part in value.split(",") if part.strip()]
            return [str(part) for part in value]
        if kind == "bool":
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if kind.startswith("int"):
            return None if value in (None, "") else int(value)
        if kind == "float":
            return float(value)
        if kind.startswith("str |"):
            return None if value in (None, "") else str(value)
        return str(value) if kind == "str" else value
    except (TypeError, ValueError):
        raise ConfigError(f"setting {key!r} expects {kind}, got {value!r}") from None
