"""The images family: generations, edits and variations."""

from mockserver.endpoints.images import edits, generations

ENDPOINTS = (*generations.ENDPOINTS, *edits.ENDPOINTS)
