"""Table transformers: readable columns, shortened content, no full token."""

from __future__ import annotations

from azext_communication import _format as fmt

USER = {"rawId": "8:acs:r_u", "properties": {"id": "8:acs:r_u"}}


def test_message_rows_show_content_of_every_type():
    messages = [
        {"id": "3", "sequenceId": "3", "type": "text", "sender": USER, "senderDisplayName": "", "createdOn": "t3",
         "content": {"message": "x" * 100}},
        {"id": "2", "sequenceId": "2", "type": "topicUpdated", "createdOn": "t2", "content": {"topic": "T"}},
        {"id": "1", "sequenceId": "1", "type": "participantAdded", "createdOn": "t1",
         "content": {"participants": [{"identifier": USER}]}},
        {"id": "4", "sequenceId": "4", "type": "text", "sender": USER, "senderDisplayName": "Bot", "createdOn": "t4",
         "deletedOn": "t5", "content": {"message": ""}},
    ]
    rows = fmt.transform_message_list(messages)
    assert list(rows[0]) == ["Id", "Seq", "Type", "Sender", "CreatedOn", "Content"]
    assert rows[0]["Sender"] == "8:acs:r_u" and len(rows[0]["Content"]) == fmt.CONTENT_WIDTH
    assert rows[0]["Content"].endswith("...")
    assert rows[1]["Content"] == "topic: T" and rows[1]["Sender"] == ""
    assert rows[2]["Content"] == "participantAdded: 8:acs:r_u"
    assert rows[3]["Sender"] == "Bot" and rows[3]["Content"] == "(deleted)"


def test_message_show_adds_edited_and_deleted():
    row = fmt.transform_message_show({"id": "1", "type": "text", "content": {"message": "m"}, "editedOn": "e"})
    assert row["EditedOn"] == "e" and row["DeletedOn"] == "" and row["Content"] == "m"


def test_thread_participant_receipt_user_rows():
    assert fmt.transform_thread_list([{"id": "19:x", "topic": "t"}]) == [
        {"Id": "19:x", "Topic": "t", "LastMessageReceivedOn": "", "DeletedOn": ""}]
    assert fmt.transform_thread_create({"chatThread": {"id": "19:x", "topic": "t", "createdOn": "c",
                                                       "createdBy": USER}, "errors": []})["CreatedBy"] == "8:acs:r_u"
    assert fmt.transform_thread_show({"id": "19:x", "createdBy": USER})["CreatedBy"] == "8:acs:r_u"
    assert fmt.transform_participant_list([{"identifier": USER, "displayName": None}]) == [
        {"Identifier": "8:acs:r_u", "DisplayName": "", "ShareHistoryTime": ""}]
    assert fmt.transform_receipt_list([{"sender": USER, "chatMessageId": "1", "readOn": "r"}]) == [
        {"Sender": "8:acs:r_u", "ChatMessageId": "1", "ReadOn": "r"}]
    assert fmt.transform_user(USER) == {"RawId": "8:acs:r_u"}
    assert fmt.transform_message_send({"id": "5"}) == {"Id": "5"}


def test_token_table_hides_the_token():
    token = "eyJhbGciOiJIUzI1NiJ9." + "a" * 80 + ".sig"
    row = fmt.transform_token({"user_id": "8:acs:r_u", "token": token, "expires_on": "e"})
    assert list(row) == ["UserId", "ExpiresOn", "Token"]
    assert token not in row["Token"] and row["Token"].startswith(token[: fmt.TOKEN_PREFIX])
    assert list(fmt.transform_token({"token": token, "expires_on": "e"})) == ["ExpiresOn", "Token"]


def test_thread_show_reads_deleted_on_from_the_raw_response():
    """SDK 1.3.0's ChatThreadProperties drops deletedOn; the handler reads it from the response body."""
    from types import SimpleNamespace

    from azext_communication.custom import show_thread

    class Transport:
        def text(self) -> str:
            return '{"id": "19:x", "topic": "t", "deletedOn": "2024-01-01T00:00:00Z"}'

    class Client:
        def get_properties(self, raw_response_hook):
            raw_response_hook(SimpleNamespace(http_response=Transport()))
            return SimpleNamespace(id="19:x", topic="t", created_on="c", created_by="u")

    shown = show_thread(Client())
    assert shown["deletedOn"] == "2024-01-01T00:00:00Z" and shown["id"] == "19:x"
