"""Where the packaged data lives.

``schemas/`` and ``fixtures/`` sit at the top of the repository so people can
read and edit them; the wheel carries them inside the package as
``mockserver/_data/``. This module finds whichever layout is installed.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Return the directory of packaged data ``name`` (``schemas`` or ``fixtures``)."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"mockserver data directory {name!r} is missing from the installation")


def schemas_dir() -> Path:
    return data_dir("schemas")


def fixtures_dir() -> Path:
    return data_dir("fixtures")
