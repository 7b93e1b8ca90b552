"""The pieces of `message watch` / `message wait` that need no service: streaming output, the table line, the
wait conditions and the option checks."""

from __future__ import annotations

import io
import json

import cli_harness  # noqa: F401  (prepares az's folders before azure.cli.core is imported)
import jmespath
import pytest
import yaml
from azure.cli.core.azclierror import (
    InvalidArgumentValueError,
    MutuallyExclusiveArgumentError,
)

from azext_communication import _validators as validators
from azext_communication import _validators_watch as v
from azext_communication._conditions import jmespath_truthy, message_matcher
from azext_communication._format import message_line_renderer, short_id
from azext_communication._stream import StreamWriter
from azext_communication._validators_watch import parse_seconds

# the validators unwrapped: wrapped, they print their error and exit 2 (tests/test_cli_watch.py runs them so)
validate_after = v.validate_after.__wrapped__
validate_interval = v.validate_interval.__wrapped__
validate_wait_condition = v.validate_wait_condition.__wrapped__
validate_watch_start_time = validators.validate_start_time.__wrapped__
validate_watch_timeout = v.validate_watch_timeout.__wrapped__

ANN = "8:acs:11111111-2222-3333-4444-555555555555_00000000-0000-0000-0000-00000000a001"
BOB = "8:acs:11111111-2222-3333-4444-555555555555_00000000-0000-0000-0000-00000000b002"


def ident(raw_id: str) -> dict:
    return {"rawId": raw_id, "properties": {"id": raw_id}}


def text(seq: int, body: str, name: str = "Ann", sender: str = ANN, **extra) -> dict:
    return {"id": str(1706691600000 + seq), "type": "text", "sequenceId": str(seq), "version": "1",
            "content": {"message": body}, "senderDisplayName": name, "createdOn": "2024-01-31T09:00:05+00:00",
            "sender": ident(sender), "deletedOn": None, "editedOn": None, "metadata": None, **extra}


def system(seq: int, kind: str, initiator: str, participants=(), topic=None) -> dict:
    return {"id": str(1706691600000 + seq), "type": kind, "sequenceId": str(seq), "version": "1",
            "content": {"message": None, "topic": topic, "initiator": ident(initiator),
                        "participants": [{"identifier": ident(p), "displayName": n, "shareHistoryTime": None}
                                         for p, n in participants]},
            "senderDisplayName": None, "createdOn": "2024-01-31T09:00:06+00:00", "sender": None,
            "deletedOn": None, "editedOn": None, "metadata": None}


class FlushCounter(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushed_at: list[int] = []

    def flush(self) -> None:
        self.flushed_at.append(len(self.getvalue()))


# ---------------------------------------------------------------------------------------------- writer
@pytest.mark.parametrize("output", ["json", "jsonc"])
def test_json_is_one_compact_object_per_line_flushed_each(output):
    out = FlushCounter()
    writer = StreamWriter(out, output)
    messages = [text(1, "hello\nworld"), text(2, "ünïcode")]
    for m in messages:
        writer.write(m)
    lines = out.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == messages
    assert out.flushed_at == [len(lines[0]) + 1, len(out.getvalue())]
    assert "ünïcode" in lines[1] and ": " not in lines[0]


def test_query_applies_to_each_message_and_null_prints_nothing():
    out = io.StringIO()
    writer = StreamWriter(out, "tsv", jmespath.compile("content.message"))
    writer.write(text(1, "first"))
    writer.write(system(2, "topicUpdated", ANN, topic="x"))
    writer.write(text(3, "third"))
    assert out.getvalue() == "first\nthird\n" and writer.written == 2


def test_tsv_is_one_line_per_message():
    out = io.StringIO()
    writer = StreamWriter(out, "tsv", jmespath.compile("[senderDisplayName, content.message]"))
    writer.write(text(1, "hi there"))
    writer.write(text(2, "two\nlines\twith a tab"))
    assert out.getvalue() == "Ann\thi there\nAnn\ttwo lines with a tab\n"


def test_yaml_is_one_document_per_message():
    out = io.StringIO()
    writer = StreamWriter(out, "yaml")
    writer.write(text(1, "a"))
    writer.write(text(2, "b"))
    docs = list(yaml.safe_load_all(out.getvalue()))
    assert [d["content"]["message"] for d in docs] == ["a", "b"]
    assert out.getvalue().count("---\n") == 2


def test_none_prints_nothing_and_table_uses_the_line():
    out = io.StringIO()
    StreamWriter(out, "none").write(text(1, "a"))
    assert out.getvalue() == ""
    StreamWriter(out, "table", table_line=lambda m: f"line {m['sequenceId']}").write(text(1, "a"))
    assert out.getvalue() == "line 1\n"
    StreamWriter(out, "table", jmespath.compile("[sequenceId, content.message]"),
                 table_line=lambda m: "unused").write(text(2, "b"))
    assert out.getvalue().splitlines()[-1] == "2  b"


# ---------------------------------------------------------------------------------------------- table line
def test_table_line_has_time_sender_and_text_on_one_line():
    line = message_line_renderer()
    assert line(text(1, "ship\nit", name="Ann")) == "2024-01-31T09:00:05Z  Ann  ship it"
    assert line(text(2, "", name="Ann", deletedOn="2024-01-31T09:01:00Z")).endswith("Ann  (deleted)")


def test_table_line_fits_the_width_it_is_given_or_is_whole():
    assert len(message_line_renderer(120)(text(1, "x" * 500))) == 120
    assert message_line_renderer(None)(text(1, "x" * 500)).endswith("x" * 500)


def test_system_messages_read_as_words_with_names_learnt_on_the_way():
    line = message_line_renderer()
    assert line(system(1, "participantAdded", ANN, [(ANN, "Ann")])).endswith("Z  Ann joined")
    assert line(system(2, "participantAdded", ANN, [(BOB, "Bob")])).endswith("Z  Ann added Bob")
    assert line(system(3, "topicUpdated", BOB, topic="Release")).endswith('Z  Bob changed the topic to "Release"')
    assert line(system(4, "participantRemoved", ANN, [(BOB, None)])).endswith("Z  Ann removed Bob")
    assert line(system(5, "participantRemoved", BOB, [(BOB, None)])).endswith("Z  Bob left")
    stranger = "8:acs:11111111-2222-3333-4444-555555555555_0c0ffee0-0000-0000-0000-000000000000"
    assert line(system(6, "participantAdded", stranger, [(ANN, "Ann")])).endswith(
        f"Z  {short_id(stranger)} added Ann")


# ---------------------------------------------------------------------------------------------- conditions
def test_jmespath_truthiness_is_jmespaths():
    assert [jmespath_truthy(v) for v in (None, False, "", [], {})] == [False] * 5
    assert [jmespath_truthy(v) for v in (0, "x", [0], {"a": 1}, True)] == [True] * 5


def test_conditions_all_have_to_hold():
    bot = text(5, "PONG from the bot", name="Bot", sender=BOB)
    custom = jmespath.compile("senderDisplayName=='Bot' && contains(content.message, 'PONG')")
    assert message_matcher(custom)(bot) and not message_matcher(custom)(text(6, "PONG"))
    assert message_matcher(sender="bot")(bot) and message_matcher(sender=BOB)(bot)
    assert not message_matcher(sender=BOB.upper())(bot)
    assert message_matcher(contains="pong")(bot) and not message_matcher(contains="ping")(bot)
    assert not message_matcher(custom, sender="Ann")(bot)
    assert not message_matcher(contains="x")(system(1, "topicUpdated", ANN, topic="x"))
    assert message_matcher(jmespath.compile("type=='topicUpdated'"))(system(1, "topicUpdated", ANN, topic="x"))


# ---------------------------------------------------------------------------------------------- option checks
class Namespace:
    def __init__(self, **values) -> None:
        self.__dict__.update(values)


@pytest.mark.parametrize("value", ["0", "0.49", "-1", "abc", "nan", "inf", ""])
def test_interval_below_half_a_second_or_not_a_number_is_a_usage_error(value):
    with pytest.raises(InvalidArgumentValueError, match="--interval must be a number of seconds, at least 0.5"):
        validate_interval(Namespace(interval=value))


def test_interval_default_and_valid_values():
    ns = Namespace(interval=None)
    validate_interval(ns)
    assert ns.interval == 2.0
    ns = Namespace(interval="0.5")
    validate_interval(ns)
    assert ns.interval == 0.5


@pytest.mark.parametrize("value", ["-1", "-0.1", "x"])
def test_negative_timeout_is_a_usage_error(value):
    with pytest.raises(InvalidArgumentValueError, match="--timeout"):
        validate_watch_timeout(Namespace(timeout=value))


def test_zero_timeout_is_allowed():
    ns = Namespace(timeout="0")
    validate_watch_timeout(ns)
    assert ns.timeout == 0.0 and parse_seconds("1.5", "--x", 0.0) == 1.5


@pytest.mark.parametrize("expression", ["a[", "senderDisplayName=='Bot' &&", "", "   ", "[?"])
def test_malformed_custom_is_a_usage_error(expression):
    with pytest.raises(InvalidArgumentValueError, match="--custom"):
        validate_wait_condition(Namespace(custom=expression, sender=None, contains=None))


def test_wait_conditions_are_optional_but_not_empty():
    from azext_communication._conditions import message_matcher

    ns = Namespace(custom=None, sender=None, contains=None)
    validate_wait_condition(ns)  # no condition: the next new message
    assert ns.custom is None and message_matcher(ns.custom, ns.sender, ns.contains)({"type": "topicUpdated"})
    with pytest.raises(InvalidArgumentValueError, match="--contains must not be empty"):
        validate_wait_condition(Namespace(custom=None, sender=None, contains=" "))
    ns = Namespace(custom="type=='text'", sender=None, contains=None)
    validate_wait_condition(ns)
    assert ns.custom.search({"type": "text"})


def test_after_is_digits_and_exclusive_with_start_time():
    with pytest.raises(InvalidArgumentValueError, match="--after must be a message id"):
        validate_after(Namespace(after="abc", start_time=None))
    with pytest.raises(MutuallyExclusiveArgumentError, match="not both"):
        validate_after(Namespace(after="123", start_time="2024-01-31T09:00:00Z"))
    ns = Namespace(after=" 1706691600123 ", start_time=None)
    validate_after(ns)
    assert ns.after == "1706691600123"


def test_bad_start_time_is_a_usage_error():
    with pytest.raises(InvalidArgumentValueError, match="--start-time"):
        validate_watch_start_time(Namespace(start_time="yesterday"))
