"""Model-layer rules of the emulator, without any HTTP: identities, tokens, threads, messages, paging."""

from __future__ import annotations

import pytest

from azext_communication.emulator.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized
from azext_communication.emulator.model import (
    MAX_MESSAGE_BYTES,
    ChatModel,
    ParticipantSpec,
    RateLimiter,
    TooManyRequests,
    identifier_model,
    parse_identifier,
    validate_raw_id,
)
from azext_communication.emulator.store import SqliteStore

T0 = 1_800_000_000_000


class Clock:
    def __init__(self) -> None:
        self.ms = T0

    def __call__(self) -> int:
        return self.ms

    def tick(self, ms: int = 1000) -> None:
        self.ms += ms


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def model(clock: Clock) -> ChatModel:
    return ChatModel(clock=clock)


def user(model: ChatModel, scopes: tuple[str, ...] = ("chat",)):
    ident = model.create_identity()
    token, _ = model.issue_token(ident.id, list(scopes))
    return model.authenticate(token)


def make_thread(model: ChatModel, owner, *others, topic: str = "t"):
    t, invalid = model.create_thread(owner, topic, [ParticipantSpec(o.user_id) for o in others])
    assert invalid == []
    return t


# ------------------------------------------------------------------------------------------- identities, tokens

def test_token_exp_matches_and_payload_is_sdk_parsable(model: ChatModel, clock: Clock) -> None:
    import base64
    import json

    ident = model.create_identity()
    token, exp = model.issue_token(ident.id, ["chat", "voip"], 90)
    assert exp == clock.ms // 1000 + 90 * 60
    payload = token.split(".")[1]
    assert "-" not in payload and "_" not in payload
    claims = json.loads(base64.b64decode(payload + "==").decode("ascii"))  # exactly what the SDK does
    assert claims["exp"] == exp
    assert claims["skypeid"] == ident.id[2:]
    assert claims["acsScope"] == "chat,voip"


def test_payload_never_has_url_only_chars_even_with_awkward_text(model: ChatModel) -> None:
    for i in range(200):
        tok = model.codec.encode({"exp": i, "x": ">?~" * (i % 7), "y": "a" * i})
        assert not set(tok.split(".")[1]) & {"-", "_"}
        assert model.codec.decode(tok)["exp"] == i


@pytest.mark.parametrize("minutes", [59, 1441, "60", 1.5, True])
def test_token_lifetime_bounds(model: ChatModel, minutes: object) -> None:
    ident = model.create_identity()
    with pytest.raises(BadRequest):
        model.issue_token(ident.id, ["chat"], minutes)


@pytest.mark.parametrize("scopes", [[], ["bogus"], "chat", None])
def test_token_scopes_validated(model: ChatModel, scopes: object) -> None:
    ident = model.create_identity()
    with pytest.raises(BadRequest):
        model.issue_token(ident.id, scopes)


def test_forged_expired_revoked_and_deleted_tokens_are_refused(model: ChatModel, clock: Clock) -> None:
    ident = model.create_identity()
    good, _ = model.issue_token(ident.id, ["chat"])
    assert model.authenticate(good).user_id == ident.id
    head, payload, sig = good.split(".")
    with pytest.raises(Unauthorized):
        model.authenticate(f"{head}.{payload}.{sig[:-2]}AA")
    with pytest.raises(Unauthorized):
        model.authenticate("not-a-token")
    other = ChatModel(clock=clock)  # different secret: a token it signs is forged here
    with pytest.raises(Unauthorized):
        model.authenticate(other.codec.encode({"skypeid": ident.id[2:], "exp": 9999999999, "gen": 0}))
    expired, _ = model.issue_token(ident.id, ["chat"], expires_at=clock.ms // 1000 - 1)
    with pytest.raises(Unauthorized, match="expired"):
        model.authenticate(expired)
    short, exp = model.issue_token(ident.id, ["chat"], 60)
    clock.tick(60 * 60 * 1000)
    with pytest.raises(Unauthorized):
        model.authenticate(short)
    fresh, _ = model.issue_token(ident.id, ["chat"])
    model.revoke_tokens(ident.id)
    with pytest.raises(Unauthorized, match="revoked"):
        model.authenticate(fresh)
    after, _ = model.issue_token(ident.id, ["chat"])
    assert model.authenticate(after).user_id == ident.id
    model.delete_identity(ident.id)
    with pytest.raises(Unauthorized):
        model.authenticate(after)
    with pytest.raises(NotFound):
        model.issue_token(ident.id, ["chat"])


def test_identifier_validation_and_models() -> None:
    acs = "8:acs:00000000-1111-2222-3333-444444444444_55555555-6666-7777-8888-999999999999"
    assert validate_raw_id(acs) == acs
    for bad in ["8:acs:fakeid===", "", "hello", "8:acs:nounderscore", None, 5]:
        with pytest.raises(BadRequest):
            validate_raw_id(bad)
    assert parse_identifier({"rawId": acs, "communicationUser": {"id": acs}}) == acs
    assert parse_identifier({"communicationUser": {"id": acs}}) == acs
    assert parse_identifier({"phoneNumber": {"value": "+14255550123"}}) == "4:+14255550123"
    assert parse_identifier({"microsoftTeamsUser": {"userId": "abc", "cloud": "PUBLIC"}}) == "8:orgid:abc"
    with pytest.raises(BadRequest):
        parse_identifier({"rawId": acs, "communicationUser": {"id": acs + "x-"}})
    assert identifier_model(acs) == {"rawId": acs, "communicationUser": {"id": acs}}
    assert identifier_model("4:+1425")["phoneNumber"] == {"value": "+1425"}
    assert "kind" not in identifier_model(acs)


def test_teams_exchange(model: ChatModel) -> None:
    token, exp = model.exchange_teams_token("a.b.c", "app", "0000-aaaa")
    caller = model.authenticate(token)
    assert caller.user_id == "8:orgid:0000-aaaa" and not caller.can_chat
    for args in [("", "app", "u"), ("t", None, "u"), ("t", "app", "")]:
        with pytest.raises(BadRequest):
            model.exchange_teams_token(*args)


# ------------------------------------------------------------------------------------------- threads and messages

def test_create_thread_system_messages_and_creator(model: ChatModel, clock: Clock) -> None:
    a, b = user(model), user(model)
    t = make_thread(model, a, b, a, topic="hello")  # creator listed again: not duplicated
    assert [m.raw_id for m in t.active_members()] == [a.user_id, b.user_id]
    page = model.list_messages(a, t.id, 10, None)
    assert [(m.seq, m.type) for m in page.items] == [(2, "topicUpdated"), (1, "participantAdded")]
    added = page.items[1]
    assert [p["raw"] for p in added.content["participants"]] == [a.user_id, b.user_id]
    assert added.content["initiator"] == a.user_id and added.sender is None
    assert page.items[0].content == {"topic": "hello", "initiator": a.user_id}
    msg = model.send_message(a, t.id, "first")
    assert msg.seq == 3 and msg.version == msg.id and msg.sender_display_name == ""
    assert t.last_message_ms == clock.ms


def test_message_ids_unique_and_increasing_within_one_millisecond(model: ChatModel) -> None:
    a = user(model)
    t = make_thread(model, a)
    ids = [int(model.send_message(a, t.id, f"m{i}").id) for i in range(50)]
    assert ids == sorted(set(ids)) and len(ids) == 50


def test_invalid_participants_and_limits(model: ChatModel) -> None:
    a = user(model)
    unknown = f"8:acs:{model.resource_id}_00000000-0000-0000-0000-000000000000"
    t, invalid = model.create_thread(a, "t", [ParticipantSpec(unknown)])
    assert invalid == [{"code": "403", "message": "Permissions check failed", "target": unknown}]
    assert [m.raw_id for m in t.active_members()] == [a.user_id]
    with pytest.raises(BadRequest):
        model.create_thread(a, "", [])
    with pytest.raises(BadRequest):
        model.create_thread(a, "x" * 1025, [])
    with pytest.raises(BadRequest):
        model.create_thread(a, "t", [ParticipantSpec(unknown)] * 201)
    users = [model.create_identity().id for _ in range(250)]
    t2, _ = model.create_thread(a, "big", [ParticipantSpec(u) for u in users[:200]])
    assert model.add_participants(a, t2.id, [ParticipantSpec(u) for u in users[200:249]]) == []
    assert len(t2.active_members()) == 250
    with pytest.raises(BadRequest):
        model.add_participants(a, t2.id, [ParticipantSpec(users[249])])


def test_idempotent_create(model: ChatModel) -> None:
    a = user(model)
    t1, _ = model.create_thread(a, "t", [], request_id="r1")
    t2, _ = model.create_thread(a, "other", [], request_id="r1")
    t3, _ = model.create_thread(a, "t", [], request_id="r2")
    assert t1.id == t2.id != t3.id
    assert len(model.list_threads(a, 50, None).items) == 2


def test_access_control(model: ChatModel) -> None:
    a, b, c = user(model), user(model), user(model)
    t = make_thread(model, a, b)
    for op in (lambda: model.send_message(c, t.id, "x"), lambda: model.get_thread(c, t.id),
               lambda: model.list_messages(c, t.id, 10, None), lambda: model.list_participants(c, t.id, 10, 0),
               lambda: model.send_typing(c, t.id), lambda: model.list_read_receipts(c, t.id, 10, 0),
               lambda: model.add_participants(c, t.id, [ParticipantSpec(c.user_id)])):
        with pytest.raises(Forbidden):
            op()
    mid = model.send_message(a, t.id, "mine").id
    with pytest.raises(Forbidden):
        model.update_message(b, t.id, mid, "hijack")
    with pytest.raises(Forbidden):
        model.delete_message(b, t.id, mid)
    with pytest.raises(NotFound):
        model.get_message(a, t.id, "123")
    with pytest.raises(NotFound):
        model.get_thread(a, "19:nope@thread.v2")
    system_id = model.list_messages(a, t.id, 10, None).items[-1].id
    with pytest.raises(Forbidden):
        model.delete_message(a, t.id, system_id)


def test_scope_capabilities(model: ChatModel) -> None:
    owner = user(model)
    join, limited, voip = user(model, ("chat.join",)), user(model, ("chat.join.limited",)), user(model, ("voip",))
    extra = user(model)
    t = make_thread(model, owner, join, limited, voip)
    for caller in (join, limited):
        with pytest.raises(Forbidden):
            model.create_thread(caller, "x", [])
        with pytest.raises(Forbidden):
            model.update_topic(caller, t.id, "x")
        with pytest.raises(Forbidden):
            model.delete_thread(caller, t.id)
        mid = model.send_message(caller, t.id, "hello").id
        model.update_message(caller, t.id, mid, "edited")
        model.delete_message(caller, t.id, mid)
        model.send_read_receipt(caller, t.id, mid)
        model.list_participants(caller, t.id, 10, 0)
    assert model.add_participants(join, t.id, [ParticipantSpec(extra.user_id)]) == []
    with pytest.raises(Forbidden):
        model.remove_participant(limited, t.id, extra.user_id)
    model.remove_participant(join, t.id, extra.user_id)
    with pytest.raises(Forbidden):
        model.list_messages(voip, t.id, 10, None)
    with pytest.raises(Forbidden):
        model.list_threads(voip, 10, None)


def test_update_delete_soft_and_versions(model: ChatModel, clock: Clock) -> None:
    a = user(model)
    t = make_thread(model, a)
    m = model.send_message(a, t.id, "v1", metadata={"k": "v", "x": "1"})
    clock.tick()
    model.update_message(a, t.id, m.id, "v2", {"x": None, "n": "2"})
    got = model.get_message(a, t.id, m.id)
    assert got.content == {"message": "v2"} and got.metadata == {"k": "v", "n": "2"}
    assert got.edited_ms == clock.ms and int(got.version) > int(got.id)
    v_edit = int(got.version)
    clock.tick()
    model.delete_message(a, t.id, m.id)
    got = model.get_message(a, t.id, m.id)
    assert got.deleted_ms == clock.ms and got.content["message"] == "" and int(got.version) > v_edit
    assert got.id == m.id and got.seq == m.seq and got.created_ms == m.created_ms
    assert m.id in [x.id for x in model.list_messages(a, t.id, 10, None).items]  # soft delete: still listed
    with pytest.raises(PayloadTooLarge):
        model.send_message(a, t.id, "x" * (MAX_MESSAGE_BYTES + 1))
    with pytest.raises(BadRequest):
        model.send_message(a, t.id, "x", "markdown")


def test_message_metadata_edit_removes_keys_set_to_empty_or_null(model: ChatModel) -> None:
    # The service drops a message metadata key that a PATCH sets to "" (wire spec 12.2, recorded .NET run); the
    # JavaScript SDK sends such values as given.
    a = user(model)
    t = make_thread(model, a)
    m = model.send_message(a, t.id, "v1", metadata={"keep": "1", "empty": "2", "null": "3"})
    model.update_message(a, t.id, m.id, None, {"empty": "", "null": None, "new": "4"})
    assert model.get_message(a, t.id, m.id).metadata == {"keep": "1", "new": "4"}
    model.update_message(a, t.id, m.id, None, {"keep": "", "new": ""})
    assert model.get_message(a, t.id, m.id).metadata is None


def test_topic_add_remove_system_messages(model: ChatModel) -> None:
    a, b, c = user(model), user(model), user(model)
    t = make_thread(model, a)
    model.update_topic(a, t.id, "new topic")
    model.add_participants(a, t.id, [ParticipantSpec(b.user_id, "B"), ParticipantSpec(c.user_id)])
    model.remove_participant(a, t.id, c.user_id)
    items = model.list_messages(a, t.id, 10, None).items
    assert [m.type for m in items] == ["participantRemoved", "participantAdded", "topicUpdated",
                                       "topicUpdated", "participantAdded"]
    assert [p["raw"] for p in items[0].content["participants"]] == [c.user_id]
    assert [(p["raw"], p["name"]) for p in items[1].content["participants"]] == [(b.user_id, "B"), (c.user_id, None)]
    assert items[2].content["topic"] == "new topic"
    assert [m.seq for m in items] == [5, 4, 3, 2, 1]
    with pytest.raises(NotFound):
        model.remove_participant(a, t.id, c.user_id)
    with pytest.raises(Forbidden):  # removed users cannot send or list participants ...
        model.send_message(c, t.id, "x")
    with pytest.raises(Forbidden):
        model.list_participants(c, t.id, 10, 0)
    assert t.id in [x.id for x in model.list_threads(c, 10, None).items]  # ... but still see the thread


def test_share_history_time_and_removed_user_history(model: ChatModel, clock: Clock) -> None:
    a, b, c = user(model), user(model), user(model)
    t = make_thread(model, a)
    early = model.send_message(a, t.id, "early").id
    clock.tick(10_000)
    model.add_participants(a, t.id, [ParticipantSpec(b.user_id, share_history_ms=clock.ms),
                                     ParticipantSpec(c.user_id)])
    clock.tick()
    late = model.send_message(a, t.id, "late").id
    b_ids = [m.id for m in model.list_messages(b, t.id, 50, None).items]
    assert late in b_ids and early not in b_ids
    with pytest.raises(NotFound):
        model.get_message(b, t.id, early)
    assert early in [m.id for m in model.list_messages(c, t.id, 50, None).items]
    model.remove_participant(a, t.id, c.user_id)
    clock.tick()
    after = model.send_message(a, t.id, "after removal").id
    c_ids = [m.id for m in model.list_messages(c, t.id, 50, None).items]
    assert late in c_ids and after not in c_ids


def test_read_receipts_one_per_participant(model: ChatModel) -> None:
    a, b = user(model), user(model)
    t = make_thread(model, a, b)
    m1 = model.send_message(a, t.id, "1").id
    m2 = model.send_message(a, t.id, "2").id
    model.send_read_receipt(a, t.id, m1)
    model.send_read_receipt(a, t.id, m2)
    assert [(r.raw_id, r.message_id) for r in model.list_read_receipts(a, t.id, 10, 0).items] == [(a.user_id, m2)]
    model.send_read_receipt(b, t.id, m1)
    assert len(model.list_read_receipts(b, t.id, 10, 0).items) == 2
    assert len(model.list_read_receipts(b, t.id, 10, 1).items) == 1
    with pytest.raises(NotFound):
        model.send_read_receipt(a, t.id, "42")


def test_paging_messages_start_time_and_snapshot(model: ChatModel, clock: Clock) -> None:
    a = user(model)
    t = make_thread(model, a)
    for i in range(10):
        clock.tick()
        model.send_message(a, t.id, f"m{i}")
    seen, cursor, pages = [], None, 0
    while True:
        page = model.list_messages(a, t.id, 3, None, cursor)
        pages += 1
        seen += [m.seq for m in page.items]
        if pages == 1:
            model.send_message(a, t.id, "arrives while paging")  # must not shift later pages
        if page.cursor is None:
            break
        cursor = page.cursor
    assert seen == list(range(12, 0, -1)) and pages == 4
    start = T0 + 6000
    recent = model.list_messages(a, t.id, 50, start).items
    assert recent and all(m.created_ms >= start for m in recent)
    assert {m.content.get("message") for m in recent} >= {"m5", "m9"}
    assert "m4" not in {m.content.get("message") for m in recent}


def test_list_threads_order_paging_deleted(model: ChatModel, clock: Clock) -> None:
    a, b = user(model), user(model)
    ids = []
    for i in range(5):
        clock.tick()
        ids.append(make_thread(model, a, b, topic=f"t{i}").id)
    clock.tick()
    model.send_message(b, ids[0], "bump")
    items, cursor = [], None
    while True:
        page = model.list_threads(a, 2, None, cursor)
        items += page.items
        if page.cursor is None:
            break
        cursor = page.cursor
    assert [t.id for t in items] == [ids[0], ids[4], ids[3], ids[2], ids[1]]
    assert items[0].last_message_ms is not None and items[1].last_message_ms is None
    model.delete_thread(a, ids[1])
    with pytest.raises(NotFound):
        model.send_message(a, ids[1], "x")
    with pytest.raises(NotFound):
        model.get_thread(b, ids[1])
    deleted = [t for t in model.list_threads(b, 50, None).items if t.id == ids[1]]
    assert deleted and deleted[0].deleted_ms is not None
    assert [t.id for t in model.list_threads(a, 50, T0 + 5500).items] == [ids[1], ids[0]]


def test_rate_limiter_windows() -> None:
    now = [100.0]
    lim = RateLimiter(enabled=True, clock=lambda: now[0])
    for _ in range(10):
        lim.hit("message.write", thread="t")
    with pytest.raises(TooManyRequests) as exc:
        lim.hit("message.write", thread="t")
    assert exc.value.headers["Retry-After"] == "10" and exc.value.status == 429
    lim.hit("message.write", thread="other")
    now[0] += 10
    lim.hit("message.write", thread="t")
    off = RateLimiter(enabled=False)
    for _ in range(100):
        off.hit("message.write", thread="t")


def test_sqlite_store_roundtrip(tmp_path, clock: Clock) -> None:
    store = SqliteStore(tmp_path / "db.sqlite")
    m1 = ChatModel(store, clock=clock)
    a, b = user(m1), user(m1)
    t = make_thread(m1, a, b)
    mid = m1.send_message(a, t.id, "persist me", metadata={"k": "v"}).id
    m1.update_message(a, t.id, mid, "edited")
    m1.send_read_receipt(b, t.id, mid)
    m1.remove_participant(a, t.id, b.user_id)
    token, _ = m1.issue_token(a.user_id, ["chat"])
    m1.create_thread(a, "idem", [], request_id="rid")
    m1.close()
    m2 = ChatModel(SqliteStore(tmp_path / "db.sqlite"), clock=clock)
    caller = m2.authenticate(token)  # the token secret and identities survived
    msgs = m2.list_messages(caller, t.id, 50, None).items
    assert msgs[1].content == {"message": "edited"} and msgs[1].metadata == {"k": "v"}
    assert msgs[0].type == "participantRemoved"
    assert [r.raw_id for r in m2.list_read_receipts(caller, t.id, 10, 0).items] == [b.user_id]
    assert [p.raw_id for p in m2.list_participants(caller, t.id, 10, 0).items] == [a.user_id]
    assert m2.send_message(caller, t.id, "next").seq == msgs[0].seq + 1
    t2, _ = m2.create_thread(caller, "idem", [], request_id="rid")
    assert len(m2.list_threads(caller, 50, None).items) == 2 and t2.topic == "idem"
    m2.close()


def test_token_payload_property() -> None:
    """Whatever the claims hold, the SDK's non-strict standard-base64 parser reads the payload back."""
    import base64
    import json

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from azext_communication.emulator.tokens import TokenCodec

    codec = TokenCodec(b"secret")

    @settings(max_examples=150, deadline=None)
    @given(st.dictionaries(st.text(max_size=8), st.text(max_size=40), max_size=5), st.integers(0, 2**33))
    def check(extra: dict, exp: int) -> None:
        claims = {**extra, "exp": exp}
        token = codec.encode(claims)
        payload = token.split(".")[1]
        assert "-" not in payload and "_" not in payload
        assert json.loads(base64.b64decode(payload + "==").decode("ascii")) == claims
        assert codec.decode(token) == claims

    check()
