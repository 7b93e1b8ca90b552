"""Which message `message wait` waits for: --custom (JMESPath), --sender, --contains, all of those given.

Why apart from the handler: the match is the command's whole meaning, and each condition's edge cases (JMESPath
truthiness, display name or raw id, case) are tested on their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def jmespath_truthy(value: Any) -> bool:
    """JMESPath's truth: false, null, "", [] and {} are false; everything else (0 included) is true."""
    return not (value is None or value is False or value == "" or value == [] or value == {})


def _sender_is(message: dict[str, Any], sender: str) -> bool:
    """The display name (case-insensitive) or the raw id (exactly) of the message's sender."""
    name = message.get("senderDisplayName") or ""
    raw_id = ((message.get("sender") or {}).get("rawId")) or ""
    return name.casefold() == sender.casefold() or raw_id == sender


def _contains(message: dict[str, Any], text: str) -> bool:
    """The text of a text or html message contains `text` (case-insensitive)."""
    content = (message.get("content") or {}).get("message") or ""
    return text.casefold() in content.casefold()


def message_matcher(custom: Any = None, sender: str | None = None,
                    contains: str | None = None) -> Callable[[dict[str, Any]], bool]:
    """A predicate over a message's JSON that is true when every given condition holds."""
    from collections import OrderedDict

    from jmespath import Options

    options = Options(OrderedDict)
    sender = sender.strip() if sender is not None else None

    def matches(message: dict[str, Any]) -> bool:
        if sender is not None and not _sender_is(message, sender):
            return False
        if contains is not None and not _contains(message, contains):
            return False
        return custom is None or jmespath_truthy(custom.search(message, options))

    return matches
