"""The sandbox page served at ``/_mock/ui``: one HTML file with its script and style inlined at serve time.

No build step and nothing from a CDN: the page works offline, and every call it makes goes to this mock's own
admin API (``/_mock/events`` for the live journal, ``/_mock/requests/{id}`` for one exchange, ``/_mock/script``
and ``/_mock/reset`` for the controls) or to its dialects (the playground).
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib import resources


def _source(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@cache
def page() -> bytes:
    html = _source("page.html").replace("/*STYLE*/", _source("sandbox.css"))
    return html.replace("/*SCRIPT*/", _source("sandbox.js")).encode()


@cache
def headers() -> dict[str, str]:
    """What the page is served with: a content security policy that runs its own inlined script and style (by
    hash) and nothing else, talks only to this mock, and may not be framed; no Referer leaves it."""
    policy = "; ".join((
        "default-src 'none'",
        f"script-src {_hash(_source('sandbox.js'))}",
        f"style-src {_hash(_source('sandbox.css'))}",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ))
    return {"content-security-policy": policy, "x-frame-options": "DENY", "referrer-policy": "no-referrer",
            "x-content-type-options": "nosniff", "cache-control": "no-store"}
