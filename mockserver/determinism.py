"""Seeds, ids and clocks: everything that makes a response reproducible.

Content is a pure function of the normalized request and the server seed. The
digest is sha256 over canonical JSON, never Python's salted ``hash()``, so two
processes agree. Ids and ``created`` are unique per response in normal runs;
with ``freeze_time`` they are derived from the same digest, so two servers
started with the same ``--seed --freeze-time`` answer byte for byte alike.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import time
from typing import Any

import orjson

FROZEN_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z
_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def digest(value: Any, seed: int) -> bytes:
    """sha256 of ``value`` as canonical JSON, salted with the server seed."""
    canonical = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(seed.to_bytes(16, "big", signed=True) + canonical).digest()


def rng(digest_bytes: bytes, label: str) -> random.Random:
    """A generator for one purpose (``label``) of one request."""
    return random.Random(hashlib.sha256(digest_bytes + label.encode()).digest())


# Two base-62 digits at a time, lowest first: half the big-number divisions of one digit at a time.
_DIGIT_PAIRS = [_ALPHANUMERIC[value % 62] + _ALPHANUMERIC[value // 62] for value in range(62 * 62)]


def _alphanumeric(material: bytes, length: int) -> str:
    """``length`` base-62 digits of sha256(material), least significant first."""
    number = int.from_bytes(hashlib.sha256(material).digest(), "big")
    pairs = []
    for _ in range((length + 1) // 2):
        number, value = divmod(number, 62 * 62)
        pairs.append(_DIGIT_PAIRS[value])
    return "".join(pairs)[:length]


class Identity:
    """Makes the ids, timestamps and fingerprints of responses."""

    def __init__(self, seed: int, freeze_time: bool) -> None:
        self.seed = seed
        self.freeze_time = freeze_time
        self._boot = b"" if freeze_time else time.time_ns().to_bytes(12, "big")
        self._counter = itertools.count()

    def salt(self, request_digest: bytes) -> bytes:
        """Material for one response's ids: the request digest itself when time is frozen."""
        if self.freeze_time:
            return request_digest
        return request_digest + self._boot + next(self._counter).to_bytes(8, "big")

    def created(self) -> int:
        return FROZEN_EPOCH if self.freeze_time else int(time.time())

    def now(self) -> float:
        return float(FROZEN_EPOCH) if self.freeze_time else time.time()

    @staticmethod
    def make_id(prefix: str, salt: bytes, length: int = 29) -> str:
        return prefix + _alphanumeric(salt + prefix.encode(), length)

    @staticmethod
    def request_id(salt: bytes) -> str:
        return "req_" + hashlib.sha256(salt + b"request").hexdigest()[:32]

    def fingerprint(self, model: str) -> str:
        """Stable per server seed and model, like a real backend configuration."""
        material = self.seed.to_bytes(16, "big", signed=True) + model.encode()
        return "fp_" + hashlib.sha256(material).hexdigest()[:10]
