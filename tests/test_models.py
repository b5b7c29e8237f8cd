"""GET /models and /models/{id} from the catalogs in fixtures/."""

from __future__ import annotations

import openai

from mockserver.conformance import validate_official


def test_list_and_retrieve(client: openai.OpenAI, http) -> None:
    raw = http.get("/v1/models").json()
    validate_official("ListModelsResponse", raw)
    ids = [model["id"] for model in raw["data"]]
    assert "gpt-4o-mini" in ids and "gpt-5.4" in ids
    model = client.models.retrieve("gpt-4o-mini")
    assert model.id == "gpt-4o-mini" and model.object == "model"
    validate_official("Model", http.get("/v1/models/gpt-4o-mini").json())
