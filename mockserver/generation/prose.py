"""Seeded English-like prose for replies.

Words come from Faker's ``en_US`` lorem vocabulary (about a thousand common
English words), drawn with the request's own ``random.Random`` so the same
request always reads the same. Building a Faker instance per request would
cost milliseconds; the word list is read once, on the first reply (importing
it costs 30-90 ms, which a mock that serves no chat never pays).

Words are drawn as ``rng.choice(words())`` draws them (rejection sampling on
``getrandbits``), without its two Python calls per word.

Chat replies need their text as token pieces (what a stream sends, what
``usage`` counts). Tokenizing every reply was the largest cost of a chat
request, so replies are made of sentences from a :class:`Phrasebook`: a
fixed set of sentences per vocabulary, tokenized once. A sentence costs one
draw, and its pieces are exactly the tokenizer's for the whole text, because
the o200k and cl100k pre-tokenizers split before every space-led word.
"""

from __future__ import annotations

import random
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mockserver.generation.tokens import Tokenizer

SENTENCE_WORDS = (6, 14)
PHRASEBOOK_BITS = 11  # 2,048 sentences per vocabulary, built in about 30 ms on its first use
PHRASEBOOK_SEED = "mockserver phrasebook 1"


@cache
def words() -> tuple[str, ...]:
    """Faker's en_US lorem words, imported on first use."""
    from faker.providers.lorem.en_US import Provider as Lorem

    return tuple(Lorem.word_list)


def sentence(rng: random.Random) -> str:
    """One sentence: capitalised, 6 to 14 words, sometimes a comma, a full stop."""
    return " ".join(sentence_words(rng)) + "."


def sentence_words(rng: random.Random) -> list[str]:
    """The words of :func:`sentence`, the first capitalised, one perhaps ending in a comma."""
    count = rng.randint(*SENTENCE_WORDS)
    getrandbits = rng.getrandbits
    vocabulary = words()
    bits = len(vocabulary).bit_length()
    drawn = []
    for _ in range(count):
        index = getrandbits(bits)
        while index >= len(vocabulary):
            index = getrandbits(bits)
        drawn.append(vocabulary[index])
    if count > 8 and rng.random() < 0.5:
        cut = rng.randint(3, count - 3)
        drawn[cut] += ","
    drawn[0] = drawn[0].capitalize()
    return drawn


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join([sentence(rng) for _ in range(sentences)])


class Phrasebook:
    """Sentences already cut into one vocabulary's token pieces.

    Each sentence is kept twice: as it reads at the start of a text, and with
    the space that joins it to what comes before.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        known: dict[str, tuple[list[str], list[int]]] = {}

        def word_pieces(word: str) -> tuple[list[str], list[int]]:
            """A word's pieces; a comma or full stop is a piece of its own to the pre-tokenizer."""
            found = known.get(word)
            if found is None:
                if word[-1] in ",." and len(word) > 1:
                    head, mark = word_pieces(word[:-1]), word_pieces(word[-1])
                    found = (head[0] + mark[0], head[1] + mark[1])
                else:
                    found = tokenizer.pieces(word)
                known[word] = found
            return found

        rng = random.Random(PHRASEBOOK_SEED)
        self.leading: list[tuple[list[str], list[int]]] = []
        self.following: list[tuple[list[str], list[int]]] = []
        for _ in range(1 << PHRASEBOOK_BITS):
            drawn = sentence_words(rng)
            drawn[-1] += "."
            rest_pieces: list[str] = []
            rest_counts: list[int] = []
            for word in drawn[1:]:
                pieces, counts = word_pieces(" " + word)
                rest_pieces += pieces
                rest_counts += counts
            for variant, first in ((self.leading, drawn[0]), (self.following, " " + drawn[0])):
                pieces, counts = word_pieces(first)
                variant.append((pieces + rest_pieces, counts + rest_counts))

    def paragraph(self, rng: random.Random, sentences: int, *, first: bool = True) -> tuple[list[str], list[int]]:
        """``sentences`` sentences drawn by ``rng``: their pieces and the token count of each piece.

        ``first=False`` when the paragraph follows other text (it then starts with a space).
        """
        pieces: list[str] = []
        counts: list[int] = []
        getrandbits = rng.getrandbits
        for position in range(sentences):
            chosen = (self.leading if first and position == 0 else self.following)[getrandbits(PHRASEBOOK_BITS)]
            pieces += chosen[0]
            counts += chosen[1]
        return pieces, counts


@cache
def phrasebook(tokenizer: Tokenizer) -> Phrasebook:
    """The phrasebook of ``tokenizer``'s vocabulary, built on first use and kept for the process."""
    return Phrasebook(tokenizer)
