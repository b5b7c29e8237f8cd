"""What the spec engine's operations create: resources by collection, and the bytes of uploaded files.

A collection is a concrete path (``/files``, ``/vector_stores/vs_1/files``): a nested
resource belongs to its parent, and deleting the parent forgets everything under it.
Both maps are bounded in count and bytes like the other stores, and emptied by reset.
"""

from __future__ import annotations

from typing import Any

import orjson

from mockserver.storage.memory import BoundedMap
from mockserver.storage.records import MAX_FILES, MAX_RESOURCES, MAX_STORE_BYTES


class MemoryResourceStore:
    """Resources in creation order, keyed by collection and id, and file contents by file id, in memory;
    ``--state-dir`` puts :class:`~mockserver.storage.sqlite.PersistentResourceStore` in its place.

    A resource is kept as its JSON, the very bytes its size is counted by: a read decodes a fresh copy (several
    times faster than deep-copying the objects, and a third of their memory)."""

    def __init__(self, max_bytes: int = MAX_STORE_BYTES) -> None:
        self._resources: BoundedMap[tuple[str, str, bytes]] = BoundedMap(MAX_RESOURCES, max_bytes)
        self._contents: BoundedMap[bytes] = BoundedMap(MAX_FILES, max_bytes)

    def put(self, collection: str, resource_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Keep ``body`` as it is now; return it."""
        kept = orjson.dumps(body)
        self._resources.put(_key(collection, resource_id), (collection, resource_id, kept), len(kept) + len(collection))
        return body

    def get(self, collection: str, resource_id: str) -> dict[str, Any] | None:
        found = self._resources.get(_key(collection, resource_id))
        return None if found is None else orjson.loads(found[2])

    def delete(self, collection: str, resource_id: str) -> None:
        """Forget the resource, what is nested under it, and its content."""
        self._resources.pop(_key(collection, resource_id))
        below = f"{collection}/{resource_id}/"
        for nested_collection, nested_id, _ in self._resources.values():
            if nested_collection.startswith(below):
                self._resources.pop(_key(nested_collection, nested_id))
        if self._contents.get(resource_id) is not None:
            self._contents.pop(resource_id)

    def items(self, collection: str) -> list[dict[str, Any]]:
        """The collection's resources, oldest first."""
        return [orjson.loads(body) for kept, _, body in self._resources.values() if kept == collection]

    def ids(self, collection: str) -> list[str]:
        """The ids of the collection's resources, oldest first, none of them decoded (a page decodes its own)."""
        return [resource_id for kept, resource_id, _ in self._resources.values() if kept == collection]

    def put_content(self, resource_id: str, data: bytes) -> None:
        self._contents.put(resource_id, data, len(data))

    def content(self, resource_id: str) -> bytes | None:
        return self._contents.get(resource_id)

    def count(self) -> int:
        return len(self._resources)

    def clear(self) -> None:
        self._resources.clear()
        self._contents.clear()


def _key(collection: str, resource_id: str) -> str:
    return f"{collection}\n{resource_id}"
