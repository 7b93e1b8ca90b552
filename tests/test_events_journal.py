"""The delivery journal the web page reads: bounded rings, records since a sequence number (at most a limit), the
mirror in the emulator, and a dead letter's event taken once for its redelivery."""

from __future__ import annotations

from azext_communication.emulator.events.journal import Journal


def _event(n: int) -> dict:
    return {"id": f"e{n}", "eventType": "Microsoft.Communication.ChatMessageReceived", "subject": f"thread/t{n}"}


def test_the_rings_are_bounded_and_newest_first() -> None:
    j = Journal(attempts=3, dead_letters=2)
    for n in range(5):
        j.attempt("bot", _event(n), 1, 200, "Success", True, 1.25)
        j.dead_letter("bot", f"t{n}", _event(n), "MaxDeliveryAttemptsExceeded", 1, "Aborted", 500, "x" * 300)
    snap = j.snapshot()
    assert [r["eventId"] for r in snap["attempts"]] == ["e4", "e3", "e2"]
    assert [r["eventId"] for r in snap["deadLetters"]] == ["e4", "e3"]
    assert len(snap["deadLetters"][0]["excerpt"]) == 200
    assert j.take_event(snap["deadLetters"][0]["id"])[2] == _event(4)
    assert j.take_event(snap["deadLetters"][0]["id"]) is None  # once only
    assert j.take_event("dl-1") is None  # evicted with its record


def test_since_and_the_mirror() -> None:
    child, mirror = Journal(), Journal()
    for n in range(150):
        child.attempt("bot", _event(n), 1, 500, "Aborted", False, 0.5)
    batch = child.since(0)
    assert len(batch) == 100 and batch[-1]["seq"] == 150 and batch[0]["seq"] == 51  # the newest, oldest first
    before = mirror.version
    mirror.extend(batch)
    assert mirror.version > before and mirror.seq == 150
    assert child.since(150) == []
    child.dead_letter("bot", "t1", _event(1), "NonRetriableError", 1, "BadRequest", 400, "no")
    mirror.extend(child.since(mirror.seq))
    dl = mirror.snapshot()["deadLetters"][0]
    assert dl["reason"] == "NonRetriableError" and dl["status"] == 400
    mirror.redelivered(dl["id"])
    assert mirror.snapshot()["deadLetters"][0]["redelivered"] is True
