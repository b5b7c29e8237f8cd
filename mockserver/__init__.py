"""mockserver: a faithful, deterministic, fault-injecting OpenAI-compatible mock."""

from .app import AppState, create_app
from .config import Config
from .errors import ApiError
from .server import MockServer

__version__ = "0.1.0"

__all__ = ["ApiError", "AppState", "Config", "MockServer", "create_app", "__version__"]
