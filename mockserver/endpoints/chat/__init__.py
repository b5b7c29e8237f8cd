"""The chat family: ``/chat/completions`` (JSON and SSE) and stored completions."""

from mockserver.endpoints.chat import completions, stored

ENDPOINTS = (*completions.ENDPOINTS, *stored.ENDPOINTS)
