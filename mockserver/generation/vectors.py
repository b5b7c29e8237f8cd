"""Deterministic embeddings that behave like real ones where tests look.

Retrieval code under test ranks documents by cosine similarity, so random vectors
are useless: every query would match noise. These vectors are feature hashing
("the hashing trick") over word unigrams and character 3-grams, so texts sharing
words and spellings score high and unrelated texts score near zero. Hashing uses
blake2b, never ``hash()``, so a vector is identical in every process, platform and
Python version (short of Unicode adding characters, which can change how new text
is case-folded or split into words), and unit length like OpenAI's.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import math
import re
import struct
from collections.abc import Callable, Iterable
from functools import lru_cache

MODEL_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
DEFAULT_DIMENSIONS = 1536

_WORD = re.compile(r"\w+")
_WORD_WEIGHT = 1.0
_GRAM_WEIGHT = 0.5  # 3-grams outnumber words about five to one; halve them so shared words still count
_SIGN_BIT = 1 << 63


def default_dimensions(model: str) -> int:
    """The vector length ``model`` returns when the request sets no ``dimensions``."""
    return MODEL_DIMENSIONS.get(model, DEFAULT_DIMENSIONS)


def _hasher(kind: bytes) -> Callable[[str], int]:
    """A cached stable 64-bit hash for one kind of feature (the blake2b ``person`` keeps
    the kinds apart): the low bits pick the bucket, the top bit the sign. Cached
    because the same words and 3-grams recur across requests."""

    @lru_cache(maxsize=1 << 16)
    def digest(feature: str) -> int:
        return int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8, person=kind).digest(), "little")

    return digest


_word_hash = _hasher(b"word")
_gram_hash = _hasher(b"3-gram")
_token_hash = _hasher(b"token")
_pair_hash = _hasher(b"token pair")


def _vector(groups: list[tuple[Iterable[int], float]], dimensions: int) -> list[float]:
    """Sum the feature hashes of each (hashes, weight) group into ``dimensions`` signed
    buckets and scale to unit length."""
    if not isinstance(dimensions, int) or dimensions < 1:
        raise ValueError(f"dimensions must be a positive integer, got {dimensions!r}")
    buckets: dict[int, float] = {}
    get = buckets.get
    for hashes, weight in groups:
        for digest in hashes:
            bucket = digest % dimensions
            buckets[bucket] = get(bucket, 0.0) + (-weight if digest & _SIGN_BIT else weight)
    norm = math.hypot(*buckets.values())
    if norm == 0.0:
        # No features (empty input), or the rare exact cancellation: a fixed unit vector.
        buckets, norm = {_word_hash("") % dimensions: 1.0}, 1.0
    vector = [0.0] * dimensions
    for bucket, value in buckets.items():
        vector[bucket] = value / norm
    return vector


def embed(text: str, dimensions: int) -> list[float]:
    """A unit-length ``dimensions``-long embedding of ``text``; similar texts get similar vectors.

    Features are the words and the character 3-grams of the text with case,
    punctuation and spacing normalised away (words joined by single spaces, so
    "cats" still resembles "cat"). The empty string gets a fixed unit vector.
    """
    words = _WORD.findall(text.casefold())
    joined = f" {' '.join(words)} " if words else ""
    grams = [joined[i : i + 3] for i in range(len(joined) - 2)]
    return _vector([(map(_word_hash, words), _WORD_WEIGHT), (map(_gram_hash, grams), _GRAM_WEIGHT)], dimensions)


def embed_tokens(tokens: list[int], dimensions: int) -> list[float]:
    """A unit-length embedding of a pre-tokenized input (the API's list-of-integers form).

    Token ids and adjacent id pairs play the roles words and 3-grams play in
    :func:`embed`, so sequences sharing tokens are similar. The vector is not the one
    :func:`embed` gives the decoded text: that would need the model's tokenizer.
    """
    ids = [str(int(token)) for token in tokens]
    pairs = [f"{first},{second}" for first, second in itertools.pairwise(ids)]
    return _vector([(map(_token_hash, ids), _WORD_WEIGHT), (map(_pair_hash, pairs), _GRAM_WEIGHT)], dimensions)


def encode_base64(vector: list[float]) -> str:
    """The vector as OpenAI sends it for ``encoding_format: "base64"``: little-endian float32, base64."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
