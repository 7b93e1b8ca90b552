"""Facts shaped as the model records them in the outbox (see emulator/events/outbox.py), for event tests."""

from __future__ import annotations

import time

RES = "a1b2c3d4-0000-4000-8000-0000000000aa"
ALICE = f"8:acs:{RES}_00000020-0000-0000-0000-000000000001"
BOB = f"8:acs:{RES}_00000020-0000-0000-0000-000000000002"
CAROL = f"8:acs:{RES}_00000020-0000-0000-0000-000000000003"
THREAD = "19:0123456789abcdef0123456789abcdef@thread.v2"
T0 = 1717236000000  # 2024-06-01T10:00:00Z


def thread(tid: str = THREAD, topic: str = "Project kickoff", version: int = T0) -> dict:
    return {"id": tid, "topic": topic, "createTime": T0, "version": version}


def members(*ids: str) -> list[list]:
    names = {ALICE: "Alice", BOB: "Bob", CAROL: "Carol"}
    return [[raw, names.get(raw)] for raw in ids]


def message(mid: str = "1717236300123", body: str = "Hello Bob", version: int = 1717236300123) -> dict:
    return {"id": mid, "type": "text", "body": body, "metadata": {"key": "value"}, "senderName": "Alice",
            "composeTime": 1717236300123, "version": str(version)}


def fact(op: str, tid: str = THREAD, actor: str = ALICE, at: int = T0 + 300_123, seq: int = 1,
         tx: str = "tx-1", group: tuple[str, ...] = (ALICE, BOB), **extra: object) -> dict:
    """A fact of operation `op` (defaults: Alice acts in a thread of Alice and Bob)."""
    out: dict = {"seq": seq, "op": op, "tx": tx, "at": at, "actor": actor, "thread": thread(tid),
                 "members": members(*group)}
    if op.startswith("message."):
        out["message"] = message()
    if op == "participants.added":
        out["added"] = members(CAROL)
        out["members"] = members(*group, CAROL)
    if op == "participant.removed":
        out["removed"] = members(CAROL)[0]
        out["members"] = members(*group, CAROL)
    out.update(extra)
    return out


def record(outbox: object, op: str, tid: str = THREAD, actor: str = ALICE, tag: str | None = None,
           **kw: object) -> None:
    """What the model does for one operation: `outbox.record(...)` with the fact's parts (`tag`: message body)."""
    kw.setdefault("at", int(time.time() * 1000))
    f = fact(op, tid, actor, **kw)
    if tag is not None and "message" in f:
        f["message"]["body"] = tag
    details = {k: v for k, v in f.items() if k in ("message", "added", "removed")}
    outbox.record(op, f["at"], actor, f["thread"], f["members"], **details)
