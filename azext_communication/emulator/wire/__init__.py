"""HTTP semantics without sockets: `app.WireApp` routes each request to the chat, identity or admin handler,
which parses it, authenticates it and maps it to one model call; `http` (request, query, api-version helpers),
`paging` (continuation tokens, nextLink) and `shapes` (response JSON) are shared by the handlers.
"""

from __future__ import annotations

from .app import WireApp
from .chat import CHAT_API_VERSIONS
from .faults import FAULT_MODES, Fault, FaultInjector
from .http import JSON_TYPE, MAX_BODY_BYTES, LowerHeaders, Request, Response, parse_time
from .identity import IDENTITY_API_VERSIONS
from .shapes import FIELDS_SINCE, Shape, fmt_expires, fmt_time, shape_for

__all__ = [
    "CHAT_API_VERSIONS", "FAULT_MODES", "FIELDS_SINCE", "IDENTITY_API_VERSIONS", "JSON_TYPE", "MAX_BODY_BYTES",
    "Fault", "FaultInjector", "LowerHeaders", "Request", "Response", "Shape", "WireApp", "fmt_expires", "fmt_time",
    "parse_time", "shape_for",
]
