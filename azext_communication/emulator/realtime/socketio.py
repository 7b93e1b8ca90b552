"""The socket.io 0.9 packet grammar the chat SDK's trouter client speaks: `type:id:endpoint:data`.

Only what that client sends or expects is modelled (spec section 4): connect `1::`, heartbeat `2::`, message
`3:::data`, event `5:id+::{"name","args"}`, ack `6:::id`, disconnect `0::`. The endpoint is always empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

DISCONNECT, CONNECT, HEARTBEAT, MESSAGE, JSON_MESSAGE, EVENT, ACK, ERROR, NOOP = range(9)

CONNECT_FRAME = "1::"
HEARTBEAT_FRAME = "2::"


@dataclass(frozen=True)
class Packet:
    """One decoded frame; `ack_id` is the number of an `N+` (or `N`) id, `data` the text after the third colon."""

    type: int
    ack_id: int | None = None
    wants_data: bool = False
    data: str = ""

    def event(self) -> tuple[str, list] | None:
        """(name, args) of an event packet, None when it is not a well-formed event."""
        if self.type != EVENT:
            return None
        try:
            obj = json.loads(self.data)
        except ValueError:
            return None
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
            return None
        args = obj.get("args")
        return obj["name"], args if isinstance(args, list) else []

    def json(self) -> object:
        """The JSON of a message packet's data (None when it is not JSON)."""
        try:
            return json.loads(self.data)
        except ValueError:
            return None


def parse(frame: str) -> Packet | None:
    """Decode one frame; None for text that is not a socket.io 0.9 packet."""
    head, sep, rest = frame.partition(":")
    if not sep or not head.isdigit() or int(head) > NOOP:
        return None
    id_part, sep, rest = rest.partition(":")
    if not sep:
        return None
    _endpoint, _, data = rest.partition(":")
    wants_data = id_part.endswith("+")
    id_text = id_part[:-1] if wants_data else id_part
    if id_text and not id_text.isdigit():
        return None
    return Packet(int(head), int(id_text) if id_text else None, wants_data, data)


def event_frame(name: str, *args: object) -> str:
    """`5:::{"name":..,"args":[..]}`: an event from the server (no ack wanted)."""
    return "5:::" + json.dumps({"name": name, "args": list(args)}, separators=(",", ":"))


def ack_frame(ack_id: int) -> str:
    """`6:::N`: the answer to a client event sent with `N+`."""
    return f"6:::{ack_id}"


def message_frame(payload: object) -> str:
    """`3:::<JSON>`: a push request."""
    return "3:::" + json.dumps(payload, separators=(",", ":"))


def disconnect_frame(reason: str | None = None) -> str:
    """`0::` or `0:::{"reason":..}`: the client closes and reconnects (with a new token for `unauthorized`)."""
    return "0::" if reason is None else "0:::" + json.dumps({"reason": reason}, separators=(",", ":"))
