"""Serika.dev's own endpoints: async image jobs, the legacy generate endpoints, characters."""

from mockserver.endpoints.serika import characters, jobs, legacy

ENDPOINTS = (*jobs.ENDPOINTS, *legacy.ENDPOINTS, *characters.ENDPOINTS)
