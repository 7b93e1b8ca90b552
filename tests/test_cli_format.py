"""Table transformers: readable columns, shortened content, no full token."""

from __future__ import annotations

import pytest

from azext_communication import _format as fmt

USER = {"rawId": "8:acs:r_u", "properties": {"id": "8:acs:r_u"}}


RESOURCE = "674963df-5ca4-52e0-8c01-4c7c90b84c25"
ANN_ID = f"8:acs:{RESOURCE}_a4db4cb1-b3f5-4e8b-aa35-712cecc96de7"
BOB_ID = f"8:gcch-acs:{RESOURCE}_0c38f18c-29f4-448b-8105-cc18fd6c51f7"  # the longest prefix
ANN = {"rawId": ANN_ID, "properties": {"id": ANN_ID}}
BOB = {"rawId": BOB_ID, "properties": {"id": BOB_ID}}
THREAD_ID = "19:sFx1xp97R15AF37VayLvhZASGlizGby9UJjI_QKuoQQ1@thread.v2"
MICROS = "2026-12-01T21:39:43.403000+00:00"
BIG_METADATA = {f"key{i}": "v" * 40 for i in range(20)}  # about 1 KB
DAYS_90 = {"kind": "threadCreationDate", "deleteThreadAfterDays": 90}


def table(transformer, result) -> list[str]:
    """The lines core prints for `-o table` (knack's own formatter, as the CLI calls it)."""
    from knack.output import format_table
    from knack.util import CommandResultItem

    return format_table(CommandResultItem(result, table_transformer=transformer, is_query_active=False)).splitlines()


def system(kind: str, seq: str, **content) -> dict:
    return {"id": "1796161183403", "sequenceId": seq, "type": kind, "createdOn": MICROS, "sender": None,
            "senderDisplayName": None, "content": {"initiator": ANN, "participants": [], **content}}


def participant(who: dict, name: str | None = None) -> dict:
    return {"identifier": who, "displayName": name, "shareHistoryTime": "1970-01-01T00:00:00+00:00"}


def worst_case_messages() -> list[dict]:
    """Newest first, as `message list` returns them: every kind, long names, long content, 6-digit seqs."""
    return [
        system("participantRemoved", "999999", participants=[participant(BOB, "Bob")]),
        {"id": "1796161182712", "sequenceId": "999998", "type": "text", "createdOn": MICROS, "sender": BOB,
         "senderDisplayName": "", "content": {"message": "x " * 200}},
        {"id": "1796161182002", "sequenceId": "999997", "type": "html", "createdOn": MICROS, "sender": ANN,
         "senderDisplayName": "Ann with a very long display name", "content": {"message": "<b>Ship</b> &amp; go"}},
        system("topicUpdated", "3", topic="t" * 300),
        system("participantAdded", "2", participants=[participant(BOB, "Bob"), participant(ANN, "Ann")]),
        system("participantAdded", "1", participants=[participant(ANN)]),
    ]


def worst_case_tables() -> dict:
    long_topic = "Release planning " * 20
    return {
        "message list": (fmt.transform_message_list, worst_case_messages()),
        "message get": (fmt.transform_message_show, {**worst_case_messages()[1], "editedOn": MICROS,
                                                     "deletedOn": MICROS}),
        "thread list": (fmt.transform_thread_list, [{"id": THREAD_ID, "topic": long_topic,
                                                     "lastMessageReceivedOn": MICROS, "deletedOn": MICROS}]),
        "thread show": (fmt.transform_thread_show, {"id": THREAD_ID, "topic": long_topic, "createdOn": MICROS,
                                                    "createdBy": BOB, "deletedOn": MICROS,
                                                    "metadata": BIG_METADATA, "retentionPolicy": DAYS_90}),
        "thread create": (fmt.transform_thread_create, {"chatThread": {"id": THREAD_ID, "topic": long_topic,
                                                                       "createdOn": MICROS, "createdBy": BOB},
                                                        "errors": []}),
        "participant list": (fmt.transform_participant_list, [{**participant(BOB, "B" * 200),
                                                               "metadata": BIG_METADATA}, participant(ANN)]),
        "receipt list": (fmt.transform_receipt_list, [{"sender": BOB, "chatMessageId": "1796161182712",
                                                       "readOn": MICROS}]),
        "token issue": (fmt.transform_token, {"user_id": BOB_ID, "token": "eyJ" + "a" * 900, "expires_on": MICROS}),
        "user create": (fmt.transform_user, BOB),
        "event subscriptions": (fmt.transform_event_subscriptions, [{
            "name": "echo-bot", "endpointBaseUrl": "https://bots.example.com/" + "x" * 100, "delivered": 123456,
            "eventDeliverySchema": "CloudEventSchemaV1_0", "failed": 0, "pending": 12, "deadLettered": 3}]),
        "emulator status": (fmt.transform_emulator_status, {"emulators": [{
            "endpoint": "https://127.0.0.1:65535", "pid": 4194304, "dataDir": "/home/someone/" + "d" * 150,
            "startedOn": MICROS}]}),
    }


@pytest.fixture
def not_a_terminal(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)


def test_every_table_fits_in_120_columns_with_worst_case_values(not_a_terminal):
    for name, (transformer, result) in worst_case_tables().items():
        lines = table(transformer, result)
        assert len(lines) >= 3, name
        widest = max(len(line) for line in lines)
        assert widest <= fmt.TABLE_WIDTH, f"{name}: {widest} columns\n" + "\n".join(lines)


@pytest.mark.parametrize("columns", [80, 100])
def test_tables_fit_a_narrower_terminal(monkeypatch, columns: int):
    """COLUMNS (or the terminal's own size when stdout is one) narrows every table, ids kept whole: the flexible
    column is shortened first, then the less important columns are left out."""
    monkeypatch.setenv("COLUMNS", str(columns))
    for name, (transformer, result) in worst_case_tables().items():
        if name == "user create":  # one column, the whole raw id (84 characters for this cloud's prefix)
            continue
        lines = table(transformer, result)
        widest = max(len(line) for line in lines)
        assert widest <= columns, f"{name}: {widest} columns\n" + "\n".join(lines)
        assert THREAD_ID in "\n".join(lines) or "thread" not in name, name
    rows = fmt.transform_message_list(worst_case_messages())
    assert {"Id", "Sender", "CreatedOn", "Content"} <= set(rows[0]), rows[0]
    assert len(rows[0]["Content"]) >= fmt.MIN_FLEXIBLE_WIDTH


def test_a_wide_terminal_still_gets_at_most_120_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    assert fmt.table_width() == fmt.TABLE_WIDTH
    monkeypatch.delenv("COLUMNS")
    assert fmt.table_width() == fmt.TABLE_WIDTH  # pytest's stdout is not a terminal
    assert fmt.terminal_width() is None


def test_the_terminal_size_counts_when_stdout_is_a_terminal(monkeypatch):
    import os

    monkeypatch.delenv("COLUMNS", raising=False)
    leader, follower = os.openpty()
    try:
        import fcntl
        import struct
        import termios

        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 72, 0, 0))
        with os.fdopen(os.dup(follower), "w") as tty:
            monkeypatch.setattr("sys.stdout", tty)
            assert fmt.terminal_width() == 72 and fmt.table_width() == 72
            lines = table(fmt.transform_message_list, worst_case_messages())
            assert max(len(line) for line in lines) <= 72
    finally:
        os.close(leader)
        os.close(follower)


def test_message_rows_show_names_short_ids_seconds_and_system_messages_in_words(not_a_terminal):
    rows = fmt.transform_message_list(worst_case_messages())
    assert list(rows[0]) == ["Id", "Seq", "Type", "Sender", "CreatedOn", "Content"]
    by_seq = {row["Seq"]: row for row in rows}
    assert by_seq["999999"]["Content"] == "Ann with a very\u2026 removed Bob"  # the name Ann used before that
    assert by_seq["999999"]["Sender"] == ""
    assert by_seq["999998"]["Sender"] == "\u2026fd6c51f7"  # sent without a display name: not "Bob"
    assert by_seq["999998"]["Content"].endswith(fmt.ELLIPSIS)
    assert by_seq["999997"]["Content"] == "Ship & go" and by_seq["999997"]["Sender"] == "Ann with a very\u2026"
    assert by_seq["3"]["Content"].startswith("Ann changed the topic")  # her name at the time (seq 2)
    assert by_seq["2"]["Content"] == "Ann joined and added Bob"
    assert by_seq["1"]["Content"] == "\u2026ecc96de7 joined"  # no name had been used yet
    assert {row["CreatedOn"] for row in rows} == {"2026-12-01T21:39:43Z"}


def test_a_message_row_never_carries_a_name_from_another_message(not_a_terminal):
    """Ann sends as "Ann", then without a name, then as "Annie": each row shows what that message carried."""
    def sent(seq: str, name: str | None) -> dict:
        return {"id": seq, "sequenceId": seq, "type": "text", "createdOn": MICROS, "sender": ANN,
                "senderDisplayName": name, "content": {"message": f"m{seq}"}}

    newest_first = [sent("4", "Annie"), sent("3", None), sent("2", "Ann"),
                    {**system("participantAdded", "1", participants=[participant(ANN)])}]
    senders = {row["Seq"]: row["Sender"] for row in fmt.transform_message_list(newest_first)}
    assert senders == {"4": "Annie", "3": "\u2026ecc96de7", "2": "Ann", "1": ""}
    assert fmt.transform_message_show(sent("3", None))["Sender"] == "\u2026ecc96de7"
    line = fmt.message_line_renderer(width=None)
    assert [line(m).split("  ")[1] for m in reversed(newest_first)] == [
        "\u2026ecc96de7 joined", "Ann", "\u2026ecc96de7", "Annie"]


def test_unknown_senders_are_short_ids_and_deleted_messages_say_so():
    rows = fmt.transform_message_list([
        {"id": "2", "sequenceId": "2", "type": "text", "sender": ANN, "createdOn": MICROS, "deletedOn": MICROS,
         "content": {"message": ""}},
        {"id": "1", "sequenceId": "1", "type": "participantAdded", "createdOn": MICROS,
         "content": {"participants": [participant(BOB), participant(ANN)]}},
    ])
    assert rows[0]["Sender"] == "\u2026ecc96de7" and rows[0]["Content"] == "(deleted)"
    assert rows[1]["Content"] == "\u2026fd6c51f7 and \u2026ecc96de7 were added"


def test_short_ids_times_and_share_times():
    assert fmt.short_id(ANN) == fmt.short_id(ANN_ID) == "\u2026ecc96de7"
    assert fmt.short_id("8:acs:r_u") == "8:acs:r_u" and fmt.short_id("someone") == "someone"
    assert fmt.short_id("8:teamsvisitor:" + "v" * 39 + "w") == "\u2026" + "v" * 7 + "w"
    assert fmt.display_time("2026-12-01T22:39:43.999+01:00") == "2026-12-01T21:39:43Z"
    assert fmt.display_time("2026-12-01T21:39:43Z") == "2026-12-01T21:39:43Z"
    assert fmt.display_time(None) == "" and fmt.display_time("soon") == "soon"
    assert fmt.share_time("1970-01-01T00:00:00+00:00") == fmt.share_time("1970-01-01T00:00:00Z") == "all"
    assert fmt.share_time("2020-01-01T00:00:00.5Z") == "2020-01-01T00:00:00Z" and fmt.share_time(None) == ""


def test_watch_line_uses_the_same_names_and_words_as_the_tables():
    line = fmt.message_line_renderer(width=60)
    for message in reversed(worst_case_messages()[2:]):
        line(message)
    text = line(worst_case_messages()[1])
    assert text.startswith("2026-12-01T21:39:43Z  \u2026fd6c51f7  x x")  # sent without a name: not "Bob"
    assert text.endswith(fmt.ELLIPSIS) and len(text) == 60
    assert line(worst_case_messages()[0]) == "2026-12-01T21:39:43Z  Ann with a very\u2026 removed Bob"


def test_message_show_adds_edited_and_deleted():
    row = fmt.transform_message_show({"id": "1", "type": "text", "content": {"message": "m"}, "editedOn": MICROS})
    assert row["EditedOn"] == "2026-12-01T21:39:43Z" and row["DeletedOn"] == "" and row["Content"] == "m"


def test_thread_participant_receipt_user_rows():
    assert fmt.transform_thread_list([{"id": "19:x", "topic": "t"}]) == [
        {"Id": "19:x", "Topic": "t", "LastMessageReceivedOn": "", "Deleted": ""}]
    assert fmt.transform_thread_create({"chatThread": {"id": "19:x", "topic": "t", "createdOn": MICROS,
                                                       "createdBy": USER}, "errors": []}) == {
        "Id": "19:x", "Topic": "t", "CreatedOn": "2026-12-01T21:39:43Z"}
    assert fmt.transform_thread_show({"id": "19:x", "createdBy": ANN})["CreatedBy"] == "\u2026ecc96de7"
    assert "Deleted" not in fmt.transform_thread_show({"id": "19:x"})
    assert fmt.transform_thread_show({"id": "19:x", "deletedOn": MICROS})["Deleted"] == "yes"
    assert fmt.transform_participant_list([{"identifier": USER, "displayName": None}]) == [
        {"User": "8:acs:r_u", "DisplayName": "", "ShareHistoryTime": "", "Metadata": ""}]
    assert fmt.transform_receipt_list([{"sender": ANN, "chatMessageId": "1", "readOn": MICROS}]) == [
        {"Sender": "\u2026ecc96de7", "ChatMessageId": "1", "ReadOn": "2026-12-01T21:39:43Z"}]
    assert fmt.transform_user(USER) == {"RawId": "8:acs:r_u"}
    assert fmt.transform_message_send({"id": "5"}) == {"Id": "5"}


def test_token_table_hides_the_token():
    token = "eyJhbGciOiJIUzI1NiJ9." + "a" * 80 + ".sig"
    row = fmt.transform_token({"user_id": "8:acs:r_u", "token": token, "expires_on": "e"})
    assert list(row) == ["UserId", "ExpiresOn", "Token"] and row["UserId"] == "8:acs:r_u"
    assert token not in row["Token"] and row["Token"].startswith(token[: fmt.TOKEN_PREFIX])
    assert list(fmt.transform_token({"token": token, "expires_on": "e"})) == ["ExpiresOn", "Token"]


def test_thread_show_and_participant_rows_carry_metadata_and_retention():
    row = fmt.transform_thread_show({"id": "19:x@thread.v2", "topic": "Support", "createdBy": ANN,
                                     "metadata": {"ticket": "42", "queue": "billing"}, "retentionPolicy": DAYS_90})
    assert list(row) == ["Id", "Topic", "CreatedOn", "CreatedBy", "Metadata", "Retention"]
    assert row["Metadata"] == "ticket=42, queue=billing" and row["Retention"] == "90 days"
    bare = fmt.transform_thread_show({"id": THREAD_ID, "topic": "t", "retentionPolicy": {"kind": "none"}})
    assert bare["Metadata"] == "" and bare["Retention"] == "none" and bare["Id"] == THREAD_ID
    assert fmt.transform_thread_show({"id": THREAD_ID})["Retention"] == "none"
    rows = fmt.transform_participant_list([{**participant(ANN, "Ann"), "metadata": {"role": "agent"}},
                                           participant(BOB)])
    assert [r["Metadata"] for r in rows] == ["role=agent", ""] and rows[0]["DisplayName"] == "Ann"


def test_a_whole_thread_id_leaves_topic_and_metadata_room_by_leaving_out_created_by_and_on():
    """A real 2025 thread id has 63 characters; the id stays whole, CreatedBy and CreatedOn make room."""
    real_id = "19:acsV1_" + "a" * 43 + "1@thread.v2"
    long = fmt.transform_thread_show({"id": real_id, "topic": "t" * 300, "createdOn": MICROS, "createdBy": ANN,
                                      "metadata": BIG_METADATA, "retentionPolicy": DAYS_90})
    assert list(long) == ["Id", "Topic", "Metadata", "Retention"] and long["Id"] == real_id
    assert long["Metadata"].startswith("key0=vvv") and long["Metadata"].endswith(fmt.ELLIPSIS)
    assert long["Topic"].endswith(fmt.ELLIPSIS) and len(long["Topic"]) >= fmt.THREAD_SHOW_LEAST
    short = fmt.transform_thread_show({"id": real_id, "topic": "T2", "createdOn": MICROS, "createdBy": ANN})
    assert list(short) == ["Id", "Topic", "CreatedOn", "Metadata", "Retention"]  # a short topic leaves room
    narrow = fmt.fit_columns([{"Id": real_id, "Topic": "t" * 50, "Metadata": "m" * 50}], ("Topic", "Metadata"),
                             width=80, optional=("Metadata",), least=20)
    assert list(narrow[0]) == ["Id", "Topic"]  # a flexible column can go too, never the last one


def test_thread_show_at_80_columns_keeps_the_retention_when_metadata_has_no_room(monkeypatch):
    """At 80 columns a whole thread id leaves about 20: too few for topic and metadata, enough for a short topic
    and the retention ("30 days"), which used to go with the metadata."""
    monkeypatch.setenv("COLUMNS", "80")
    thread = {"id": THREAD_ID, "topic": "Case 42", "createdOn": MICROS, "createdBy": ANN,
              "metadata": {"ticket": "42", "queue": "billing"}, "retentionPolicy": DAYS_90}
    lines = table(fmt.transform_thread_show, thread)
    assert lines[0].split() == ["Id", "Topic", "Retention"] and lines[2].split() == [THREAD_ID, "Case", "42", "90",
                                                                                         "days"], lines
    assert max(len(line) for line in lines) <= 80
    long_topic = table(fmt.transform_thread_show, {**thread, "topic": "t" * 100})
    assert long_topic[0].split() == ["Id", "Topic"] and max(len(line) for line in long_topic) <= 80  # topic first
    monkeypatch.setenv("COLUMNS", "100")
    assert table(fmt.transform_thread_show, thread)[0].split() == ["Id", "Topic", "Metadata"]  # metadata before it


def test_fit_columns_gives_unused_room_to_the_wider_column():
    rows = fmt.fit_columns([{"Fixed": "x" * 40, "A": "short", "B": "b" * 200}], ("A", "B"))
    assert rows[0]["A"] == "short"
    line = "  ".join([rows[0]["Fixed"], rows[0]["A"].ljust(len("A") + 2), rows[0]["B"]])
    assert len(rows[0]["B"]) == fmt.CONTENT_WIDTH and len(line) <= fmt.TABLE_WIDTH
    wide = fmt.fit_columns([{"Fixed": "x" * 40, "A": "short", "B": "b" * 200}], ("A", "B"), most=200)[0]
    assert len(wide["B"]) == fmt.TABLE_WIDTH - 40 - len("short") - 2 * fmt.COLUMN_GAP  # A's unused room too
    squeezed = fmt.fit_columns([{"Fixed": "x" * 70, "A": "a" * 100, "B": "b" * 100}], ("A", "B"))[0]
    assert len(squeezed["A"]) + len(squeezed["B"]) <= fmt.TABLE_WIDTH - 70 - 2 * fmt.COLUMN_GAP
    assert abs(len(squeezed["A"]) - len(squeezed["B"])) <= 1


def test_retention_and_metadata_texts():
    assert fmt.retention_text({"kind": "threadCreationDate", "deleteThreadAfterDays": 30}) == "30 days"
    assert fmt.retention_text({"kind": "none"}) == "none" and fmt.retention_text(None) == "none"
    assert fmt.retention_text({"kind": "somethingNew"}) == "somethingNew"
    assert fmt.metadata_text({"a": "1", "b": ""}) == "a=1, b=" and fmt.metadata_text(None) == ""
