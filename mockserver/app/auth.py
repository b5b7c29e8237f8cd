"""Key and tier policy: who may call what (``--api-key``, Serika's ``--free-key`` / ``--premium-key``)."""

from __future__ import annotations

from mockserver.config import Config
from mockserver.dialects.dialect import Dialect
from mockserver.errors import ApiError


class KeyPolicy:
    """401 without a usable key; 403 for a free-tier key on a generation endpoint of a dialect with tiers."""

    def __init__(self, config: Config) -> None:
        self.restricted = bool(config.api_key)
        self._keys = set(config.api_key) | set(config.free_key) | set(config.premium_key)
        self._free_keys = set(config.free_key)

    def authenticate(self, key: str, dialect: Dialect, generation: bool) -> None:
        if dialect.keyless and not self.restricted:
            return
        if not key and dialect.key_header is not None:
            raise ApiError(401, f"{dialect.key_header} header is required", code="missing_api_key")
        if self.restricted and key not in self._keys and dialect.key_header is not None:
            raise ApiError(401, f"invalid {dialect.key_header}: {mask(key)} is not one of the keys the mock was "
                           "started with (--api-key)", code="invalid_api_key")
        if not key:
            raise ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        if self.restricted and key not in self._keys:
            raise ApiError(
                401,
                f"Incorrect API key provided: {mask(key)}. Use one of the keys the mock was started with (--api-key).",
                code="invalid_api_key",
            )
        if generation and self.is_free_tier(key, dialect):
            raise ApiError(
                403,
                "Free tier keys cannot use AI generation endpoints; the free tier only includes character "
                "information. Upgrade to the premium tier to call this endpoint.",
                type="insufficient_tier",
                code="premium_required",
            )

    def is_free_tier(self, key: str, dialect: Dialect) -> bool:
        """A configured free-tier key on a dialect with tiers (Serika); unknown keys are treated as premium."""
        return dialect.tiers and key in self._free_keys


def mask(key: str) -> str:
    """A key as it may be shown: its first three and last four characters."""
    return key[:3] + "*" * 8 + key[-4:] if len(key) > 10 else "*" * len(key)
