"""Write-through of model records to the `Store` (one record per identity, thread, member, message, receipt).

Callers are inside a `store.transaction()`; with the memory store these are no-ops.
"""

from __future__ import annotations

from ..store import Store
from .records import Identity, Member, Message, Receipt, Thread


def save_identity(store: Store, ident: Identity) -> None:
    if store.persistent:
        store.put("identity", ident.id, ident.record())


def save_thread(store: Store, t: Thread) -> None:
    if store.persistent:
        store.put("thread", t.id, t.record())


def save_member(store: Store, t: Thread, m: Member) -> None:
    if store.persistent:
        store.put("member", f"{t.id}|{m.raw_id}", m.record())


def save_message(store: Store, t: Thread, m: Message) -> None:
    if store.persistent:
        store.put("message", f"{t.id}|{m.id}", m.record())


def save_receipt(store: Store, t: Thread, r: Receipt) -> None:
    if store.persistent:
        store.put("receipt", f"{t.id}|{r.raw_id}", {"raw": r.raw_id, "message": r.message_id, "read": r.read_ms})
