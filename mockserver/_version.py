"""The one place the version is written (pyproject.toml reads it, ``mockserver.__version__`` re-exports it)."""

__version__ = "0.1.0"
