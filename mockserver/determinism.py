"""Seeds and ids: everything that makes a response reproducible (times come from :mod:`mockserver.clock`).

Content is a pure function of the normalized request and the server seed. The
digest is sha256 over canonical JSON, never Python's salted ``hash()``, so two
processes agree. Ids and ``created`` are unique per response in normal runs;
with ``freeze_time`` they are derived from the same digest, so two servers
started with the same ``--seed --freeze-time`` answer byte for byte alike.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import random
import time
from typing import Any, Protocol

import orjson

from mockserver.clock import Clock

_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def digest(value: Any, seed: int) -> bytes:
    """sha256 of ``value`` as canonical JSON, salted with the server seed."""
    canonical = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(seed.to_bytes(16, "big", signed=True) + canonical).digest()


class HashRandom(random.Random):
    """``random.Random`` over SHA-512 in counter mode instead of the Mersenne Twister.

    Every request gets a generator of its own. Seeding a Twister fills 2.5 KB
    of state (about 5 µs, more than the rest of generating a short reply);
    seeding this one stores the key. Bits come 512 at a time from
    ``sha512(key + counter)``, so a stream depends on nothing but its key,
    in every process. All of ``Random``'s methods work: they draw through
    the two it overrides, ``getrandbits`` and ``random``.
    """

    def __init__(self, key: bytes) -> None:
        super().__init__(key)  # calls seed(); also resets Random's gauss cache

    def seed(self, a: Any = None, version: int = 2) -> None:
        if not isinstance(a, bytes):
            raise TypeError("HashRandom is seeded with bytes")
        self._key = a
        self._counter = 0
        self._pool = 0
        self._bits = 0

    def getrandbits(self, k: int) -> int:
        while self._bits < k:
            block = hashlib.sha512(self._key + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
            self._pool |= int.from_bytes(block, "big") << self._bits
            self._bits += 512
        value = self._pool & ((1 << k) - 1)
        self._pool >>= k
        self._bits -= k
        return value

    def random(self) -> float:
        return self.getrandbits(53) * _TWO_TO_MINUS_53

    def getstate(self) -> Any:
        return (self._key, self._counter, self._pool, self._bits, self.gauss_next)

    def setstate(self, state: Any) -> None:
        self._key, self._counter, self._pool, self._bits, self.gauss_next = state


_TWO_TO_MINUS_53 = 2.0**-53


def rng(digest_bytes: bytes, label: str) -> random.Random:
    """A generator for one purpose (``label``) of one request."""
    return HashRandom(digest_bytes + label.encode())


# Byte value -> base-62 digit. ``256 % 62`` leaves the first eight digits a little more likely: ids need
# only be unique and well spread, and one table lookup per digit beats big-number division.
_DIGITS = bytes((_ALPHANUMERIC * 5)[:256], "ascii")


def _alphanumeric(material: bytes, length: int) -> str:
    """``length`` base-62 digits drawn from sha512(material) (at most 64)."""
    return hashlib.sha512(material).digest()[:length].translate(_DIGITS).decode("ascii")


class CreateCounter(Protocol):
    """Counts the creates that make resource ids under a frozen clock (a fleet's: ``mockserver.fleet.FleetCreates``,
    so two nodes never make one id)."""

    def next(self) -> int: ...

    def restart(self) -> None: ...


class LocalCreates:
    """This server's count of creates."""

    def __init__(self) -> None:
        self._count = itertools.count()

    def next(self) -> int:
        return next(self._count)

    def restart(self) -> None:
        self._count = itertools.count()


class Identity:
    """Makes the ids, timestamps and fingerprints of responses."""

    def __init__(self, seed: int, clock: Clock) -> None:
        self.seed = seed
        self.clock = clock
        self.freeze_time = clock.frozen
        self._boot = b"" if clock.frozen else time.time_ns().to_bytes(12, "big")
        self._counter = itertools.count()
        self.creates: CreateCounter = LocalCreates()
        self._fingerprints: dict[str, str] = {}

    def salt(self, request_digest: bytes) -> bytes:
        """Material for one response's ids: the request digest itself when time is frozen."""
        if self.freeze_time:
            return request_digest
        return request_digest + self._boot + next(self._counter).to_bytes(8, "big")

    def resource_salt(self, request_digest: bytes) -> bytes:
        """Material for a stored resource's id: unique per create even when time is frozen (two identical
        creates are two resources), and still the same run to run, counted in the order they arrive."""
        if self.freeze_time:
            return request_digest + self.creates.next().to_bytes(8, "big")
        return self.salt(request_digest)

    def restart(self) -> None:
        """Count creates from the start again: after a full reset the stores are empty, so a run that starts there
        makes the same ids as a fresh server."""
        self.creates.restart()

    def created(self) -> int:
        return self.clock.created()

    @staticmethod
    def make_id(prefix: str, salt: bytes, length: int = 29) -> str:
        return prefix + _alphanumeric(salt + prefix.encode(), length)

    @staticmethod
    def request_id(salt: bytes) -> str:
        return "req_" + hashlib.sha256(salt + b"request").hexdigest()[:32]

    def fingerprint(self, model: str) -> str:
        """Stable per server seed and model, like a real backend configuration."""
        found = self._fingerprints.get(model)
        if found is None:
            material = self.seed.to_bytes(16, "big", signed=True) + model.encode()
            found = "fp_" + hashlib.sha256(material).hexdigest()[:10]
            if len(self._fingerprints) < 1024:  # model names come from clients: keep the memo bounded
                self._fingerprints[model] = found
        return found


class Signer:
    """Signs a model's reasoning as the APIs do (an opaque signature a client sends back unchanged: Anthropic's
    thinking blocks, Gemini's thought signatures) and checks it when it returns: the same text, the same signature,
    for the same seed and ``purpose``; a block edited or made up by the client fails :meth:`verify`."""

    def __init__(self, seed: int, purpose: str = "thinking", size: int = 96) -> None:
        self._key = hashlib.sha256(f"mockserver {purpose} {seed}".encode()).digest()
        self._size = size

    def sign(self, text: str) -> str:
        material = b""
        counter = 0
        while len(material) < self._size:
            material += hmac.new(self._key, counter.to_bytes(2, "big") + text.encode(), hashlib.sha256).digest()
            counter += 1
        return base64.b64encode(material[:self._size]).decode()

    def verify(self, text: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(text).encode(), signature.encode())
