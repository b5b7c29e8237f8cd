"""The spec operations whose whole answer is made by code that knows what it means, by operation id.

The engine reads, validates and seeds the request as for every operation, then hands it here
instead of generating the answer from the schema: speech, transcriptions and translations
(:mod:`.audio`), legacy completions (:mod:`.completions`) and the Responses API (:mod:`.responses`).
"""

from __future__ import annotations

from mockserver.endpoints.spec.request import Responder
from mockserver.endpoints.spec.responders import audio, completions, responses

RESPONDERS: dict[str, Responder] = {**audio.RESPONDERS, **completions.RESPONDERS, **responses.RESPONDERS}

__all__ = ["RESPONDERS"]
