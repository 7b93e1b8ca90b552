"""The chat event types ACS publishes to Event Grid (events spec 2.1), with their level and subject shape.

Only what the emulator emits is in `EMITTED`; `OPT_IN` types are emitted only when switched on; the other
SDK-only and deprecated types are known (a filter may name them) but never emitted (decision 4 of the spec).
"""

from __future__ import annotations

PREFIX = "Microsoft.Communication."

# name -> (level, subject segment between the thread id and the rawId; None = no segment)
THREAD_LEVEL = {
    "ChatThreadCreated": "createdBy",
    "ChatThreadDeleted": "deletedBy",
    "ChatThreadPropertiesUpdated": "editedBy",
    "ChatThreadParticipantAdded": "participantadded",
    "ChatThreadParticipantRemoved": "participantremoved",
    "ChatMessageReceivedInThread": "sender",
    "ChatMessageEditedInThread": "sender",
    "ChatMessageDeletedInThread": "sender",
}
USER_LEVEL = {
    "ChatMessageReceived": "sender",
    "ChatMessageEdited": "sender",
    "ChatMessageDeleted": "sender",
    "ChatThreadCreatedWithUser": "createdBy",
    "ChatThreadWithUserDeleted": "deletedBy",
    "ChatThreadPropertiesUpdatedPerUser": "editedBy",
    "ChatParticipantAddedToThreadWithUser": "participantAdded",
    "ChatParticipantRemovedFromThreadWithUser": "participantRemoved",
}
# emitted only when switched on (--events-typing), thread level (events-2025 S3)
OPT_IN = {
    "ChatTypingIndicatorReceivedInThread": "sender",
}
MAX_TYPING_PARTICIPANTS = 20  # typing notifications are not sent in larger threads
NEVER_EMITTED = (
    "ChatAzureBotCommandReceivedInThread",
    "ChatMemberAddedToThreadWithUser",
    "ChatMemberRemovedFromThreadWithUser",
)

EMITTED: tuple[str, ...] = tuple(PREFIX + n for n in (*USER_LEVEL, *THREAD_LEVEL))
KNOWN: tuple[str, ...] = (*EMITTED, *(PREFIX + n for n in (*OPT_IN, *NEVER_EMITTED)))
_BY_LOWER = {t.lower(): t for t in KNOWN}

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
DATA_VERSION = "1.0"
METADATA_VERSION = "1"


def short(event_type: str) -> str:
    """`Microsoft.Communication.ChatMessageReceived` -> `ChatMessageReceived`."""
    return event_type[len(PREFIX):] if event_type.startswith(PREFIX) else event_type


def is_user_level(event_type: str) -> bool:
    return short(event_type) in USER_LEVEL


def canonical(name: str) -> str:
    """The official spelling of an event type named in any case, with or without the prefix.

    Raises ValueError naming the accepted values for anything unknown.
    """
    text = name.strip()
    key = text.lower()
    found = _BY_LOWER.get(key) or _BY_LOWER.get((PREFIX + text).lower())
    if found is None:
        names = ", ".join([*(short(t) for t in EMITTED), *OPT_IN])
        raise ValueError(f"unknown event type '{name}'; known types: {names} "
                         "(with or without the 'Microsoft.Communication.' prefix), or All")
    return found


def subject(thread_id: str, event_type: str, subject_id: str, recipient: str | None = None) -> str:
    """`thread/{id}/{segment}/{rawId}[/recipient/{rawId}]` exactly as the spec's table (2.3) spells it."""
    name = short(event_type)
    segment = USER_LEVEL.get(name) or THREAD_LEVEL.get(name) or OPT_IN[name]
    out = f"thread/{thread_id}/{segment}/{subject_id}"
    return out if recipient is None else f"{out}/recipient/{recipient}"
