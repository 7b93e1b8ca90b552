"""Admin API for event subscriptions (the wire layer authenticates with the access key, then calls `route`).

    GET    /admin/eventSubscriptions          -> 200 {"value": [subscription, ...]}
    POST   /admin/eventSubscriptions          -> 201 subscription   (body: the config-file entry shape)
    GET    /admin/eventSubscriptions/{name}   -> 200 subscription
    DELETE /admin/eventSubscriptions/{name}   -> 204

A subscription is its public definition (`endpointBaseUrl`, never the full URL) plus the counts `delivered`,
`failed`, `pending` and `deadLettered`.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import MethodNotAllowed, NotFound
from .service import EventService

SEGMENT = "eventsubscriptions"  # matched case-insensitively


def _allow(method: str, *methods: str) -> None:
    if method not in methods:
        raise MethodNotAllowed(headers={"Allow": ", ".join(methods)})


def route(service: EventService, method: str, rest: list[str], read_json: Callable[[], object]
          ) -> tuple[int, object]:
    """(status, JSON body or None) for a request below /admin/eventSubscriptions; raises emulator errors."""
    if not rest:
        _allow(method, "GET", "POST")
        if method == "GET":
            return 200, {"value": service.list()}
        return 201, service.create(read_json())
    if len(rest) == 1:
        _allow(method, "GET", "DELETE")
        if method == "GET":
            return 200, service.get(rest[0])
        service.delete(rest[0])
        return 204, None
    raise NotFound("Not Found")
