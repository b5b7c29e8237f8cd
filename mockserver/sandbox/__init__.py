"""The sandbox page served at ``/_mock/ui``: one HTML file with its script and style inlined at serve time.

No build step and nothing from a CDN: the page works offline, and every call it makes goes to this mock's own
admin API (``/_mock/events`` for the live journal, ``/_mock/requests/{id}`` for one exchange, ``/_mock/script``
and ``/_mock/reset`` for the controls) or to its dialects (the playground).
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def page() -> bytes:
    files = resources.files(__name__)
    html = files.joinpath("page.html").read_text(encoding="utf-8")
    html = html.replace("/*STYLE*/", files.joinpath("sandbox.css").read_text(encoding="utf-8"))
    html = html.replace("/*SCRIPT*/", files.joinpath("sandbox.js").read_text(encoding="utf-8"))
    return html.encode()
