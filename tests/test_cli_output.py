"""The fast list-output path gives exactly what core's `todict` gives for every chat model a list returns."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.cli.core.commands import AzCliCommandInvoker
from azure.cli.core.util import todict
from azure.communication.chat import ChatMessage, ChatMessageReadReceipt, ChatParticipant
from azure.communication.chat._generated import models as gen

from azext_communication import _output

USER = {"rawId": "8:acs:r_u1", "communicationUser": {"id": "8:acs:r_u1"}}
PHONE = {"rawId": "4:+14255550123", "phoneNumber": {"value": "+14255550123"}}

MESSAGES = [
    {"id": "1700000000001", "type": "participantAdded", "sequenceId": "1", "version": "1700000000001",
     "content": {"participants": [{"communicationIdentifier": USER, "displayName": "Ann",
                                   "shareHistoryTime": "1970-01-01T00:00:00Z"}],
                 "initiatorCommunicationIdentifier": USER},
     "createdOn": "2026-11-24T10:00:00Z"},
    {"id": "1700000000002", "type": "html", "sequenceId": "4", "version": "1700000000009",
     "content": {"message": "<b>hi</b>", "attachments": []}, "senderDisplayName": "",
     "createdOn": "2026-11-24T10:00:01.123Z", "senderCommunicationIdentifier": USER,
     "editedOn": "2026-11-24T10:05:00Z", "deletedOn": "2026-11-24T10:06:00Z", "metadata": {"k": "v"}},
    {"id": "1700000000003", "type": "customKind", "sequenceId": "5", "version": "1700000000003",
     "content": {"message": "x"}, "createdOn": "2026-11-24T10:00:02Z", "senderCommunicationIdentifier": PHONE},
]


def _core(obj: Any) -> Any:
    return todict(obj, AzCliCommandInvoker.remove_additional_prop_layer)


def _cases() -> dict[str, list[Any]]:
    messages = [ChatMessage._from_generated(gen.ChatMessage.deserialize(m)) for m in MESSAGES]
    participants = [ChatParticipant._from_generated(gen.ChatParticipant.deserialize(p))
                    for p in MESSAGES[0]["content"]["participants"] + [{"communicationIdentifier": PHONE}]]
    receipts = [ChatMessageReadReceipt._from_generated(gen.ChatMessageReadReceipt.deserialize(
        {"senderCommunicationIdentifier": USER, "chatMessageId": "1", "readOn": "2026-11-24T10:00:00Z"}))]
    threads = [gen.ChatThreadItem.deserialize({"id": "19:a@thread.v2", "topic": "t",
                                               "lastMessageReceivedOn": "2026-11-24T10:00:00Z"}),
               gen.ChatThreadItem.deserialize({"id": "19:b@thread.v2", "topic": "u",
                                               "deletedOn": "2026-11-24T11:00:00Z"})]
    return {"messages": messages, "participants": participants, "receipts": receipts, "threads": threads}


@pytest.mark.parametrize("kind", ["messages", "participants", "receipts", "threads"])
def test_plain_list_equals_core_todict(kind: str) -> None:
    items = _cases()[kind]
    expected = _core(list(items))
    fast = _output.plain_list(items)
    assert fast == expected
    assert json.dumps(fast, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_core_todict_passes_plain_lists_untouched_and_converts_everything_else() -> None:
    items = _cases()["messages"]
    fast = _output.plain_list(items)
    from azure.cli.core import util

    assert util.todict(fast) is fast
    assert util.todict(list(items), AzCliCommandInvoker.remove_additional_prop_layer) == fast
    assert type(util.todict(list(fast))) is list
