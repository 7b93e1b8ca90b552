"""The emulated Chat and Identity services without HTTP (moto/Azurite style), one module per aggregate:

`identities` (users, tokens), `threads` (threads, participants, access rules), `messages` (messages, read
receipts), `ratelimits`, with `records` (data classes), `rules` (limits and value checks), `identifiers` and
`persist` (write-through to the store) under them. `facade.ChatModel` is what the wire layer calls.

Every public operation returns plain data or raises one of the `errors` exceptions, which the wire layer maps
to status codes. Nothing here imports the wire or server modules.
"""

from __future__ import annotations

from ..errors import (
    BadRequest,
    EmulatorError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
)
from .facade import ChatModel
from .identifiers import identifier_model, is_acs_user, parse_identifier, validate_raw_id
from .ratelimits import RATE_LIMITS, RateLimiter
from .records import Caller, Change, Identity, Member, Message, Page, ParticipantSpec, Receipt, Thread, now_ms
from .rules import (
    DEFAULT_PAGE_SIZE,
    MAX_BATCH,
    MAX_DISPLAY_NAME_CHARS,
    MAX_MESSAGE_BYTES,
    MAX_PAGE_SIZE,
    MAX_PARTICIPANTS,
    MAX_RECEIPT_PARTICIPANTS,
    MAX_TOKEN_MINUTES,
    MAX_TOPIC_CHARS,
    MIN_TOKEN_MINUTES,
    TOKEN_SCOPES,
)

__all__ = [
    "DEFAULT_PAGE_SIZE", "MAX_BATCH", "MAX_DISPLAY_NAME_CHARS", "MAX_MESSAGE_BYTES", "MAX_PAGE_SIZE",
    "MAX_PARTICIPANTS", "MAX_RECEIPT_PARTICIPANTS", "MAX_TOKEN_MINUTES", "MAX_TOPIC_CHARS", "MIN_TOKEN_MINUTES",
    "RATE_LIMITS", "TOKEN_SCOPES",
    "BadRequest", "Caller", "Change", "ChatModel", "EmulatorError", "Forbidden", "Identity", "Member", "Message",
    "NotFound", "Page", "ParticipantSpec", "PayloadTooLarge", "RateLimiter", "Receipt", "Thread", "TooManyRequests",
    "Unauthorized", "identifier_model", "is_acs_user", "now_ms", "parse_identifier", "validate_raw_id",
]
