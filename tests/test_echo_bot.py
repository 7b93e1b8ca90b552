"""examples/echo_bot.py against an emulator (the `acs_emulator` fixture), with synthetic Event Grid deliveries.

The events are built as the events spec shows them (2.5.1 for the data, 4 for the CloudEvents envelope, 5.3/5.4
for the handshakes); the ids in them are those of real messages in the emulator, so the bot's reply lands there.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from azext_communication.testing import IssuedToken, LocalEmulator

ROOT = Path(__file__).resolve().parent.parent
BOT_PATH = ROOT / "examples" / "echo_bot.py"
_spec = importlib.util.spec_from_file_location("echo_bot", BOT_PATH)
echo_bot = importlib.util.module_from_spec(_spec)
sys.modules["echo_bot"] = echo_bot
_spec.loader.exec_module(echo_bot)

TOPIC = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
         "Microsoft.Communication/communicationServices/acs-emu")


def _cim(raw: str) -> dict:
    return {"rawId": raw, "communicationUser": {"id": raw}}


def received(thread: str, message: str, sender: str, recipient: str, text: str, event_id: str | None = None) -> dict:
    """A ChatMessageReceived event in the Event Grid schema (the copy for `recipient`)."""
    return {"id": event_id or str(uuid.uuid4()), "topic": TOPIC,
            "subject": f"thread/{thread}/sender/{sender}/recipient/{recipient}",
            "data": {"messageBody": text, "messageId": message, "metadata": {}, "senderId": sender,
                     "senderCommunicationIdentifier": _cim(sender), "senderDisplayName": "Alice",
                     "composeTime": "2024-06-01T10:05:00.123Z", "type": "Text", "version": int(message),
                     "recipientId": recipient, "recipientCommunicationIdentifier": _cim(recipient),
                     "transactionId": "tx", "threadId": thread},
            "eventType": "Microsoft.Communication.ChatMessageReceived", "dataVersion": "1.0",
            "metadataVersion": "1", "eventTime": "2024-06-01T10:05:00.9430004Z"}


def as_cloud_event(event: dict) -> dict:
    """The same event in CloudEvents 1.0 (events spec 4)."""
    return {"id": event["id"], "source": event["topic"], "subject": event["subject"], "type": event["eventType"],
            "time": event["eventTime"], "specversion": "1.0", "data": event["data"]}


class Bot:
    """The bot's HTTP server on a free port, with the emulator's CA trusted by its chat client."""

    def __init__(self, emu: LocalEmulator, token: IssuedToken) -> None:
        self.sender = echo_bot.ChatSender(emu.endpoint, token.token, "Echo Bot", connection_verify=emu.ca_bundle,
                                          retry_total=0)
        self.logic = echo_bot.EchoBot(token.user_id, self.sender)
        self.server = echo_bot.BotServer(self.logic, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1})
        self.thread.start()

    def request(self, method: str, body: object = None, headers: dict | None = None) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.server_address[1], timeout=30)
        raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        conn.request(method, "/api/events", body=raw, headers=headers or {})
        resp = conn.getresponse()
        resp.body = resp.read()
        conn.close()
        return resp

    def deliver(self, event: dict, cloud: bool = False, attempt: int = 0) -> http.client.HTTPResponse:
        """POST one event as Event Grid does (array of one, or one CloudEvent object)."""
        headers = {"aeg-event-type": "Notification", "aeg-delivery-count": str(attempt),
                   "Content-Type": "application/cloudevents+json; charset=utf-8" if cloud
                   else "application/json; charset=utf-8"}
        return self.request("POST", as_cloud_event(event) if cloud else [event], headers)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
        self.sender.close()


@pytest.fixture
def chat(acs_emulator: LocalEmulator) -> Iterator[dict]:
    """Alice, the bot and Carol in one thread, and the bot listening."""
    from azure.communication.chat import ChatParticipant, CommunicationUserIdentifier

    alice, bot_token, carol = (acs_emulator.issue_token() for _ in range(3))
    created = acs_emulator.chat_client(alice).create_chat_thread(
        "bot test", thread_participants=[ChatParticipant(identifier=CommunicationUserIdentifier(u.user_id))
                                         for u in (alice, bot_token, carol)])
    thread = created.chat_thread.id
    bot = Bot(acs_emulator, bot_token)
    try:
        yield {"emu": acs_emulator, "thread": thread, "alice": alice, "bot": bot_token, "carol": carol,
               "server": bot, "client": acs_emulator.chat_thread_client(alice, thread)}
    finally:
        bot.stop()


def _say(chat: dict, text: str) -> str:
    return chat["client"].send_message(text, sender_display_name="Alice").id


def _replies(chat: dict) -> list[tuple[str, str | None]]:
    """(content, replyTo) of every message the bot wrote, oldest first."""
    msgs = [m for m in chat["client"].list_messages() if m.type == "text"
            and m.sender.properties["id"] == chat["bot"].user_id]
    return [(m.content.message, (m.metadata or {}).get("replyTo")) for m in reversed(msgs)]


def _ping_event(chat: dict, text: str = "ping", recipient: str | None = None) -> dict:
    message = _say(chat, text)
    return received(chat["thread"], message, chat["alice"].user_id, recipient or chat["bot"].user_id, text)


def test_event_grid_validation_handshake(chat: dict) -> None:
    code = str(uuid.uuid4())
    event = {"id": str(uuid.uuid4()), "topic": TOPIC, "subject": "", "eventType":
             "Microsoft.EventGrid.SubscriptionValidationEvent", "eventTime": "2024-06-01T10:00:00.0000000Z",
             "data": {"validationCode": code, "validationUrl": "https://localhost:553/validate?id=x"},
             "metadataVersion": "1", "dataVersion": "1"}
    resp = chat["server"].request("POST", [event], {"aeg-event-type": "SubscriptionValidation",
                                                    "Content-Type": "application/json"})
    assert resp.status == 200
    assert json.loads(resp.body) == {"validationResponse": code}


def test_cloudevents_options_handshake(chat: dict) -> None:
    resp = chat["server"].request("OPTIONS", headers={"WebHook-Request-Origin": "eventgrid.azure.net",
                                                      "WebHook-Request-Rate": "120"})
    assert resp.status == 200
    assert resp.getheader("WebHook-Allowed-Origin") == "eventgrid.azure.net"
    assert resp.getheader("WebHook-Allowed-Rate") == "*"
    assert "POST" in resp.getheader("Allow")


@pytest.mark.parametrize("cloud", [False, True], ids=["event-grid-schema", "cloudevents"])
def test_ping_gets_one_pong_even_when_redelivered(chat: dict, cloud: bool) -> None:
    event = _ping_event(chat)
    assert chat["server"].deliver(event, cloud=cloud).status == 200
    assert _replies(chat) == [("pong", event["data"]["messageId"])]
    for attempt in (1, 2):  # Event Grid redelivers the same event (same id) after a lost answer
        assert chat["server"].deliver(event, cloud=cloud, attempt=attempt).status == 200
    assert chat["server"].deliver(event, cloud=not cloud).status == 200  # a second subscription, other schema
    assert _replies(chat) == [("pong", event["data"]["messageId"])]


def test_cloudevents_batch_and_several_messages(chat: dict) -> None:
    first, second = _ping_event(chat), _ping_event(chat, " PING ")
    resp = chat["server"].request("POST", [as_cloud_event(first), as_cloud_event(second)],
                                  {"Content-Type": "application/cloudevents-batch+json; charset=utf-8"})
    assert resp.status == 200
    assert _replies(chat) == [("pong", first["data"]["messageId"]), ("pong", second["data"]["messageId"])]


def test_other_recipients_copies_own_messages_and_other_text_are_ignored(chat: dict) -> None:
    bot, carol = chat["bot"].user_id, chat["carol"].user_id
    carols_copy = _ping_event(chat, recipient=carol)  # ACS sends one copy per recipient: only the bot's counts
    assert chat["server"].deliver(carols_copy).status == 200
    assert _replies(chat) == []

    own = chat["emu"].chat_thread_client(chat["bot"], chat["thread"]).send_message("ping").id
    own_copy = received(chat["thread"], own, bot, bot, "ping")  # e.g. with --events-include-actor
    assert chat["server"].deliver(own_copy).status == 200
    assert chat["server"].deliver(received(chat["thread"], own, bot, carol, "ping")).status == 200
    assert chat["server"].deliver(_ping_event(chat, "hello there")).status == 200
    other_type = _ping_event(chat)
    other_type["eventType"] = "Microsoft.Communication.ChatMessageEdited"
    assert chat["server"].deliver(other_type).status == 200
    assert _replies(chat) == [("ping", None)]  # only the bot's own message, no pong anywhere

    copy_for_bot = dict(carols_copy, id=str(uuid.uuid4()), data=dict(carols_copy["data"], recipientId=bot,
                                                                       recipientCommunicationIdentifier=_cim(bot)))
    assert chat["server"].deliver(copy_for_bot).status == 200
    assert _replies(chat)[-1] == ("pong", carols_copy["data"]["messageId"])


def test_html_ping_is_answered(chat: dict) -> None:
    message = chat["client"].send_message("<p>ping</p>", chat_message_type="html").id
    event = received(chat["thread"], message, chat["alice"].user_id, chat["bot"].user_id, "<p>ping</p>")
    event["data"]["type"] = "Html"
    assert chat["server"].deliver(event).status == 200
    assert _replies(chat) == [("pong", message)]


def test_bad_requests(chat: dict) -> None:
    server = chat["server"]
    assert server.request("POST", b"{not json", {"Content-Type": "application/json"}).status == 400
    assert server.request("POST", [1, 2]).status == 400
    assert server.request("GET").status == 405
    assert server.request("POST", b"x", {"Content-Length": "nope"}).status == 400
    assert server.request("POST", [received("19:x@thread.v2", "1", "a", chat["bot"].user_id, "ping")
                                   | {"data": "not an object"}]).status == 200
    assert _replies(chat) == []


def test_failed_replies_are_retried_by_redelivery_once_they_can_succeed(chat: dict) -> None:
    event = _ping_event(chat)
    chat["emu"].add_fault("503", count=1)
    assert chat["server"].deliver(event).status == 503  # Event Grid will deliver it again
    assert _replies(chat) == []
    chat["emu"].add_fault("close", count=1)
    assert chat["server"].deliver(event, attempt=1).status == 503
    assert chat["server"].deliver(event, attempt=2).status == 200
    assert _replies(chat) == [("pong", event["data"]["messageId"])]


def test_a_thread_the_bot_left_is_acknowledged_not_retried(chat: dict) -> None:
    from azure.communication.chat import CommunicationUserIdentifier

    event = _ping_event(chat)
    chat["client"].remove_participant(CommunicationUserIdentifier(chat["bot"].user_id))
    assert chat["server"].deliver(event).status == 200  # 403 from the service: retrying cannot help
    assert _replies(chat) == []


def test_user_id_comes_from_the_token(acs_emulator: LocalEmulator) -> None:
    token = acs_emulator.issue_token()
    assert echo_bot.user_id_from_token(token.token) == token.user_id
    with pytest.raises(echo_bot.ConfigError, match="not a Communication Services access token"):
        echo_bot.user_id_from_token("not-a-token")
    expired = "e30." + "eyJza3lwZWlkIjoiYWNzOngiLCJleHAiOjEwMDB9" + ".sig"  # {"skypeid":"acs:x","exp":1000}
    with pytest.raises(echo_bot.ConfigError, match="expired"):
        echo_bot.user_id_from_token(expired)


# ------------------------------------------------------------------------------------------- as a process
def _bot_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECHO_BOT_", "AZURE_COMMUNICATION_"))}
    env.update(extra)
    return env


def _run_bot(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BOT_PATH), *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_help_and_one_line_configuration_errors(acs_emulator: LocalEmulator) -> None:
    out = _run_bot(_bot_env(), "--help")
    assert out.returncode == 0 and "ECHO_BOT_ACCESS_TOKEN" in out.stdout

    token = acs_emulator.issue_token().token
    cases = [
        (_bot_env(ECHO_BOT_ENDPOINT=acs_emulator.endpoint), "set ECHO_BOT_ACCESS_TOKEN"),
        (_bot_env(ECHO_BOT_ENDPOINT=acs_emulator.endpoint, ECHO_BOT_ACCESS_TOKEN="  "), "set ECHO_BOT_ACCESS_TOKEN"),
        (_bot_env(ECHO_BOT_ACCESS_TOKEN=token), "set ECHO_BOT_ENDPOINT"),
        (_bot_env(ECHO_BOT_ACCESS_TOKEN="abc", ECHO_BOT_ENDPOINT=acs_emulator.endpoint), "not a Communication"),
        (_bot_env(ECHO_BOT_ACCESS_TOKEN=token, ECHO_BOT_ENDPOINT="http://x"), "expected https://host"),
        (_bot_env(ECHO_BOT_ACCESS_TOKEN=token, ECHO_BOT_ENDPOINT=acs_emulator.endpoint, ECHO_BOT_PORT="99999"),
         "invalid port"),
    ]
    for env, expected in cases:
        out = _run_bot(env)
        assert out.returncode == 2, out.stderr
        assert out.stderr.startswith("error: ") and expected in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert token not in out.stderr + out.stdout


def _start_bot(env: dict, *args: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, str(BOT_PATH), "--json", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise AssertionError(proc.communicate(timeout=10)[1])
    return proc, json.loads(line)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_process_stops_cleanly_on_signals(acs_emulator: LocalEmulator, sig: int) -> None:
    token = acs_emulator.issue_token()
    env = _bot_env(ECHO_BOT_ACCESS_TOKEN=token.token, ECHO_BOT_ENDPOINT=acs_emulator.endpoint,
                   REQUESTS_CA_BUNDLE=acs_emulator.ca_bundle)
    proc, info = _start_bot(env, "--port", "0")
    try:
        assert info["userId"] == token.user_id and info["url"].startswith("http://127.0.0.1:")
        port = int(info["url"].rsplit(":", 1)[1].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("OPTIONS", "/api/events", headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
        assert conn.getresponse().getheader("WebHook-Allowed-Origin") == "eventgrid.azure.net"
        conn.close()

        busy = _run_bot(env, "--port", str(port))  # the port is taken: one line, exit 1
        err = busy.stderr
        assert busy.returncode == 1, err
        assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}") and len(err.strip().splitlines()) == 1

        proc.send_signal(sig)
        assert proc.wait(15) == 0
        err = proc.stderr.read()
        assert "Traceback" not in err and "echo bot stopped" in err
        assert token.token not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize("schemas", [["EventGridSchema"], ["CloudEventSchemaV1_0"],
                                     ["EventGridSchema", "CloudEventSchemaV1_0"]], ids=["eg", "ce", "both"])
def test_real_events_from_the_emulator(chat: dict, schemas: list[str]) -> None:
    """The emulator's own deliveries (handshake first), one subscription per schema: one pong per ping."""
    emu = chat["emu"]
    for i, schema in enumerate(schemas):
        emu.subscribe(chat["server"].server.url, name=f"bot-{i}", schema=schema)
    pings = [_say(chat, "ping"), _say(chat, "not for the bot"), _say(chat, "ping")]
    assert emu.wait_for_deliveries(15)
    assert _replies(chat) == [("pong", pings[0]), ("pong", pings[2])]
    counts = emu.subscriptions()
    assert all(s["deadLettered"] == 0 and s["delivered"] > 0 for s in counts)


def test_a_duplicate_arriving_during_the_reply_waits_for_it_instead_of_failing() -> None:
    release, calls, results = threading.Event(), [], []
    bot_id = "8:acs:bot"

    def slow_send(thread: str, text: str, reply_to: str) -> None:
        calls.append(reply_to)
        release.wait(10)

    logic = echo_bot.EchoBot(bot_id, slow_send)
    body = json.dumps([received("19:t@thread.v2", "1717236300123", "8:acs:alice", bot_id, "ping")]).encode()
    workers = [threading.Thread(target=lambda: results.append(logic.handle("POST", {}, body)[0])) for _ in range(2)]
    for w in workers:
        w.start()
    while not calls:
        threading.Event().wait(0.01)
    threading.Event().wait(0.2)  # the second delivery is now waiting on the first
    assert results == []
    release.set()
    for w in workers:
        w.join(10)
    assert results == [200, 200] and calls == ["1717236300123"]
