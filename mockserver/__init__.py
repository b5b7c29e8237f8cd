"""mockserver: a faithful, deterministic, fault-injecting OpenAI-compatible mock.

What users touch is listed in ``__all__``; everything else is internal and may move.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from mockserver._version import __version__

if TYPE_CHECKING:
    from mockserver.app import create_app
    from mockserver.app.inprocess import SyncTransport, async_transport
    from mockserver.app.server import MockServer
    from mockserver.config import Config, ConfigError
    from mockserver.control.faults import SpecError
    from mockserver.control.fixtures import FixtureError
    from mockserver.control.plane import ScriptEntry
    from mockserver.errors import ApiError, MockserverError
    from mockserver.journal import Exchange

# Exports are imported on first use (PEP 562): pytest loads mockserver.plugin, and so this package, in every
# run where mockserver is installed, and the server's imports take about 2 s.
_EXPORTS = {
    "ApiError": "mockserver.errors",
    "Config": "mockserver.config",
    "ConfigError": "mockserver.config",
    "Exchange": "mockserver.journal",
    "FixtureError": "mockserver.control.fixtures",
    "MockServer": "mockserver.app.server",
    "MockserverError": "mockserver.errors",
    "ScriptEntry": "mockserver.control.plane",
    "SpecError": "mockserver.control.faults",
    "SyncTransport": "mockserver.app.inprocess",
    "async_transport": "mockserver.app.inprocess",
    "create_app": "mockserver.app",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "ApiError",
    "Config",
    "ConfigError",
    "Exchange",
    "FixtureError",
    "MockServer",
    "MockserverError",
    "ScriptEntry",
    "SpecError",
    "SyncTransport",
    "__version__",
    "async_transport",
    "create_app",
]
