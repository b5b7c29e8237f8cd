"""mockserver: a faithful, deterministic, fault-injecting OpenAI-compatible mock."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.app import AppState, create_app
    from mockserver.config import Config
    from mockserver.errors import ApiError
    from mockserver.server import MockServer

__version__ = "0.1.0"

# Exports are imported on first use (PEP 562): pytest loads mockserver.plugin, and so this package, in every
# run where mockserver is installed, and the server's imports take about 2 s.
_EXPORTS = {"AppState": ".app", "create_app": ".app", "Config": ".config", "ApiError": ".errors", "MockServer": ".server"}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value

__all__ = ["ApiError", "AppState", "Config", "MockServer", "create_app", "__version__"]
