"""Embeddings are unit vectors, stable everywhere, and rank similar texts above unrelated ones."""

from __future__ import annotations

import base64
import hashlib
import math
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mockserver.generation.vectors import default_dimensions, embed, embed_tokens, encode_base64

REPO = Path(__file__).resolve().parent.parent
FIFTY_WORDS = (
    "The quick brown fox jumps over the lazy dog while the mock server answers every embedding request "
    "with a deterministic vector built from hashed character grams and words, so that tests of retrieval "
    "pipelines can rank similar documents above unrelated ones without a network, reliably and quickly on "
    "every CI"
)


def cosine(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=False))


@pytest.mark.parametrize("dimensions", [1, 2, 3, 64, 256, 1536, 3072])
@pytest.mark.parametrize(
    "text", ["", "   ", "!!!", "hello", "Hello, world!", FIFTY_WORDS, "日本語のテキスト", "x" * 5000]
)
def test_unit_length_and_requested_dimensions(text: str, dimensions: int) -> None:
    vector = embed(text, dimensions)
    assert len(vector) == dimensions
    assert all(isinstance(value, float) and math.isfinite(value) for value in vector)
    assert math.fsum(value * value for value in vector) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("tokens", [[], [0], [1, 2, 3], list(range(500)), [100_257] * 3])
def test_token_vectors_are_unit_length(tokens: list[int]) -> None:
    vector = embed_tokens(tokens, 1536)
    assert len(vector) == 1536
    assert math.fsum(value * value for value in vector) == pytest.approx(1.0, abs=1e-12)


def test_similar_texts_score_higher_than_unrelated_ones() -> None:
    cat = embed("the cat sat on the mat", 1536)
    near = embed("the cat sat on a mat", 1536)
    far = embed("quantum chromodynamics lecture notes", 1536)
    assert cosine(cat, near) > 0.75
    assert abs(cosine(cat, far)) < 0.2 and abs(cosine(near, far)) < 0.2


def test_a_query_retrieves_the_matching_document() -> None:
    documents = [
        "To reset your password, open settings and choose 'Forgot password'.",
        "Our office is closed on public holidays.",
        "The capital of France is Paris.",
        "Invoices are emailed on the first day of each month.",
    ]
    vectors = [embed(document, 1536) for document in documents]
    for query, expected in [("how do I reset my password", 0), ("what is the capital city of France", 2),
                            ("when are invoices sent", 3), ("are you open on holidays", 1)]:
        scores = [cosine(embed(query, 1536), vector) for vector in vectors]
        assert scores.index(max(scores)) == expected, (query, scores)


def test_case_punctuation_and_spacing_do_not_matter() -> None:
    assert embed("Hello, World!", 256) == embed("hello   world", 256) == embed("HELLO\nworld.", 256)
    assert embed("hello world", 256) != embed("world hello", 256)  # word order still shows in the 3-grams


def test_empty_inputs_share_one_fixed_unit_vector() -> None:
    empty = embed("", 512)
    assert empty == embed("  \n", 512) == embed("?!", 512) == embed_tokens([], 512)
    assert sorted(empty)[-1] == 1.0


def test_similar_token_sequences_score_higher() -> None:
    base = embed_tokens([791, 8415, 7731, 389, 279, 5634], 1536)
    assert cosine(base, embed_tokens([791, 8415, 7731, 389, 264, 5634], 1536)) > 0.5
    assert abs(cosine(base, embed_tokens([31228, 12345, 999, 42], 1536))) < 0.2
    assert embed_tokens([1, 2, 3], 64) != embed_tokens([3, 2, 1], 64)


def test_embeddings_are_pure_functions() -> None:
    assert embed(FIFTY_WORDS, 1536) == embed(FIFTY_WORDS, 1536)
    assert embed_tokens([5, 6, 7], 1536) == embed_tokens([5, 6, 7], 1536)
    assert embed("a", 1536) != embed("b", 1536)


def test_vectors_are_pinned_across_releases() -> None:
    """Golden digests: a change here breaks every user's stored snapshot, so make it on purpose."""

    def digest(vector: list[float]) -> str:
        return hashlib.sha256(struct.pack(f"<{len(vector)}d", *vector)).hexdigest()[:16]

    assert digest(embed("The cat sat on the mat.", 64)) == "f7271edaef2a7b30"
    assert digest(embed_tokens([1, 2, 3], 64)) == "b57a44b8f3235515"
    assert digest(embed("", 8)) == "d0a840c27d5f74b3"


def test_vectors_do_not_depend_on_the_process_hash_seed() -> None:
    # Load the module file alone: it needs only the standard library, and skipping the
    # package import keeps the two interpreters quick.
    script = (
        "import importlib.util, sys;"
        "spec = importlib.util.spec_from_file_location('embeddings', sys.argv[1]);"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m);"
        "print(m.encode_base64(m.embed('the cat sat on the mat', 32)), m.encode_base64(m.embed_tokens([7, 8], 32)))"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        environment = {**os.environ, "PYTHONHASHSEED": hash_seed}
        module = str(REPO / "mockserver" / "generation" / "vectors.py")
        done = subprocess.run([sys.executable, "-c", script, module], capture_output=True, text=True,
                              env=environment, check=True, timeout=60)
        outputs.add(done.stdout)
    here = f"{encode_base64(embed('the cat sat on the mat', 32))} {encode_base64(embed_tokens([7, 8], 32))}\n"
    assert outputs == {here}


@pytest.mark.parametrize("dimensions", [1, 7, 256, 1536, 3072])
def test_base64_round_trips_as_little_endian_float32(dimensions: int) -> None:
    vector = embed(FIFTY_WORDS, dimensions)
    raw = base64.b64decode(encode_base64(vector), validate=True)
    assert len(raw) == 4 * dimensions
    decoded = list(struct.unpack(f"<{dimensions}f", raw))
    assert decoded == [struct.unpack("<f", struct.pack("<f", value))[0] for value in vector]
    assert all(abs(a - b) < 1e-7 for a, b in zip(decoded, vector, strict=False))


def test_base64_matches_a_hand_built_payload() -> None:
    assert encode_base64([1.0, -2.0, 0.5]) == base64.b64encode(
        bytes.fromhex("0000803f" "000000c0" "0000003f")
    ).decode()


@pytest.mark.parametrize(
    ("model", "dimensions"),
    [("text-embedding-3-small", 1536), ("text-embedding-3-large", 3072), ("text-embedding-ada-002", 1536),
     ("my-local-embedder", 1536), ("", 1536)],
)
def test_default_dimensions(model: str, dimensions: int) -> None:
    assert default_dimensions(model) == dimensions


@pytest.mark.parametrize("dimensions", [0, -1, 1.5, "256", None])
def test_impossible_dimensions_are_refused(dimensions: object) -> None:
    with pytest.raises(ValueError, match="dimensions"):
        embed("hello", dimensions)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dimensions"):
        embed_tokens([1], dimensions)  # type: ignore[arg-type]


def test_fifty_words_embed_quickly() -> None:
    assert len(FIFTY_WORDS.split()) == 50
    embed(FIFTY_WORDS, 1536)
    rounds = 200
    start = time.perf_counter()
    for _ in range(rounds):
        embed(FIFTY_WORDS, 1536)
    per_call = (time.perf_counter() - start) / rounds
    assert per_call < 0.002, f"{per_call * 1e6:.0f} us per 50-word embedding"
