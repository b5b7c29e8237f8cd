"""Seeded English-like prose for replies.

Words come from Faker's ``en_US`` lorem vocabulary (about a thousand common
English words), drawn with the request's own ``random.Random`` so the same
request always reads the same. Building a Faker instance per request would
cost milliseconds; the word list is read once at import.

Words are drawn as ``rng.choice(WORDS)`` draws them (rejection sampling on
``getrandbits``), without its two Python calls per word: half the cost of a
reply's text, and the very same words for the same seed.
"""

from __future__ import annotations

import random

from faker.providers.lorem.en_US import Provider as _Lorem

WORDS: tuple[str, ...] = tuple(_Lorem.word_list)
SENTENCE_WORDS = (6, 14)
_WORD_BITS = len(WORDS).bit_length()


def sentence(rng: random.Random) -> str:
    """One sentence: capitalised, 6 to 14 words, sometimes a comma, a full stop."""
    count = rng.randint(*SENTENCE_WORDS)
    getrandbits = rng.getrandbits
    words = []
    for _ in range(count):
        index = getrandbits(_WORD_BITS)
        while index >= len(WORDS):
            index = getrandbits(_WORD_BITS)
        words.append(WORDS[index])
    if count > 8 and rng.random() < 0.5:
        cut = rng.randint(3, count - 3)
        words[cut] += ","
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join([sentence(rng) for _ in range(sentences)])
