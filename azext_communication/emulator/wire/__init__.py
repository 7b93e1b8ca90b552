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
from .shapes import fmt_expires, fmt_time, message_json, participant_json, thread_item_json, thread_json

__all__ = [
    "CHAT_API_VERSIONS", "FAULT_MODES", "IDENTITY_API_VERSIONS", "JSON_TYPE", "MAX_BODY_BYTES", "Fault",
    "FaultInjector", "LowerHeaders", "Request", "Response", "WireApp", "fmt_expires", "fmt_time", "message_json",
    "parse_time", "participant_json", "thread_item_json", "thread_json",
]
