"""The app layer: what composes the mock from its parts.

``assembly`` builds the app (``create_app``), ``state`` holds one server's services and stores,
``pipeline`` runs every endpoint, ``admin`` and ``openapi`` serve the admin API and the document,
``server`` runs it on a socket (``MockServer``), ``inprocess`` without one, ``expectations`` is the
Python API tests use, ``auth`` the key policy and ``metrics`` the Prometheus counters.
"""

from mockserver.app.assembly import create_app

__all__ = ["create_app"]
