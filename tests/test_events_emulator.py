"""Events end to end: a real emulator process, chat calls over HTTPS, webhooks on 127.0.0.1; the start-up options,
the admin API and `az communication emulator subscription create|list|show|delete`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from emulator_process import CHAT_API, ROOT, EmulatorApi, running_emulator
from webhook_receiver import Receiver, wait_until

pytestmark = pytest.mark.live

P = "Microsoft.Communication."



def test_chat_operations_reach_a_webhook_given_at_start(tmp_path: Path) -> None:
    with Receiver() as hook, running_emulator("--event-webhook", hook.url, "--event-retry-scale", "0.01",
                                              env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path)}) as emu:
        assert hook.requests[0].headers["aeg-event-type"] == "SubscriptionValidation"
        api = EmulatorApi(emu)
        alice, alice_token = api.user()
        bob, bob_token = api.user()
        resp = api.bearer("POST", f"/chat/threads?{CHAT_API}", alice_token, {
            "topic": "kickoff", "participants": [{"communicationIdentifier": {"rawId": bob}, "displayName": "Bob"}]})
        assert resp.status_code == 201, resp.text
        tid = resp.json()["chatThread"]["id"]
        from urllib.parse import quote

        tpath = f"/chat/threads/{quote(tid, safe='')}"
        mid = api.bearer("POST", f"{tpath}/messages?{CHAT_API}", alice_token, {"content": "hi"}).json()["id"]
        assert api.bearer("PATCH", f"{tpath}/messages/{mid}?{CHAT_API}", alice_token, {"content": "hi!"}
                          ).status_code == 204
        assert api.bearer("POST", f"{tpath}/typing?{CHAT_API}", bob_token, {}).status_code == 200
        assert api.bearer("POST", f"{tpath}/readReceipts?{CHAT_API}", bob_token, {"chatMessageId": mid}
                          ).status_code == 200
        assert api.bearer("DELETE", f"{tpath}/messages/{mid}?{CHAT_API}", alice_token).status_code == 204
        assert api.bearer("PATCH", f"{tpath}?{CHAT_API}", alice_token, {"topic": "renamed"}).status_code == 204
        assert api.bearer("DELETE", f"{tpath}?{CHAT_API}", alice_token).status_code == 204
        expected = ["ChatThreadCreated", "ChatThreadCreatedWithUser", "ChatMessageReceivedInThread",
                    "ChatMessageReceived", "ChatMessageEditedInThread", "ChatMessageEdited",
                    "ChatMessageDeletedInThread", "ChatMessageDeleted", "ChatThreadPropertiesUpdated",
                    "ChatThreadPropertiesUpdatedPerUser", "ChatThreadDeleted", "ChatThreadWithUserDeleted"]
        got = hook.wait_for(len(expected))
        assert [r.events[0]["eventType"] for r in got] == [P + n for n in expected]  # one thread: write order
        time.sleep(0.3)
        assert len(hook.notifications()) == len(expected)  # nothing for typing and read receipts
        events = [r.events[0] for r in got]
        assert {e["data"]["threadId"] for e in events} == {tid}
        assert all(e["data"]["recipientCommunicationIdentifier"]["rawId"] == bob
                   for e in events if "recipientCommunicationIdentifier" in e["data"])
        sent = events[2]["data"]
        assert sent["messageId"] == mid and sent["messageBody"] == "hi" and sent["type"] == "Text"
        assert events[4]["data"]["messageBody"] == "hi!" and events[4]["data"]["version"] > sent["version"]
        assert events[8]["data"]["properties"] == {"topic": "renamed"}
        assert events[0]["topic"].endswith("/providers/Microsoft.Communication/communicationServices/acs-emulator")
        assert "8:acs:" + events[0]["topic"].split("/")[2] in alice  # the resource id of the user ids
        log = emu.stderr_text()
        assert "ChatMessageReceived to subscription webhook-1: 200 (attempt 1)" in log


def test_participant_events_and_include_actor(tmp_path: Path) -> None:
    with Receiver() as hook, running_emulator("--event-webhook", hook.url, "--events-include-actor",
                                              env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path)}) as emu:
        api = EmulatorApi(emu)
        alice, token = api.user()
        carol, _ = api.user()
        tid = api.thread(token)
        from urllib.parse import quote

        tpath = f"/chat/threads/{quote(tid, safe='')}/participants"
        body = {"participants": [{"communicationIdentifier": {"rawId": carol}, "displayName": "Carol"}]}
        assert api.bearer("POST", f"{tpath}/:add?{CHAT_API}", token, body).status_code == 201
        assert api.bearer("POST", f"{tpath}/:remove?{CHAT_API}", token, {"rawId": carol}).status_code == 204
        hook.wait_for(2 + 1 + 2 + 1 + 2)
        types = [r.events[0]["eventType"][len(P):] for r in hook.notifications()]
        assert types == ["ChatThreadCreated", "ChatThreadCreatedWithUser",
                         "ChatThreadParticipantAdded", "ChatParticipantAddedToThreadWithUser",
                         "ChatParticipantAddedToThreadWithUser", "ChatThreadParticipantRemoved",
                         "ChatParticipantRemovedFromThreadWithUser", "ChatParticipantRemovedFromThreadWithUser"]
        added = [r.events[0] for r in hook.notifications()][2]
        assert added["subject"] == f"thread/{tid}/participantadded/{carol}"
        assert added["data"]["addedByCommunicationIdentifier"]["rawId"] == alice


def _emulator_main(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "azext_communication.emulator", "--port", "0", "--json", *args],
                          capture_output=True, text=True, timeout=60, cwd=str(ROOT),
                          env={"PATH": "/usr/bin:/bin", "AZURE_COMMUNICATION_EMULATOR_HOME": str(home),
                               "PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize("args, message, code", [
    (("--event-webhook", "http://example.org/x"), "--event-webhook: http is allowed only for localhost", 2),
    (("--events-config", "{missing}"), "cannot read the file", 2),
    (("--events-config", "{bad}"), "invalid JSON at line 1", 2),
    (("--event-retry-scale", "0"), "invalid factor '0'", 2),
    (("--event-webhook", "http://127.0.0.1:9/closed", "--event-retry-scale", "0.01"),
     "endpoint validation of subscription 'webhook-1' (http://127.0.0.1:9/closed) failed: SocketError", 1),
])
def test_bad_event_options_are_one_line_and_nothing_starts(tmp_path: Path, args: tuple, message: str,
                                                           code: int) -> None:
    (tmp_path / "bad.json").write_text("{nope")
    args = tuple(a.replace("{missing}", str(tmp_path / "absent.json")).replace("{bad}", str(tmp_path / "bad.json"))
                 for a in args)
    out = _emulator_main(*args, home=tmp_path)
    assert out.returncode == code, out
    lines = [line for line in out.stderr.splitlines() if "error:" in line]
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_subscriptions_persist_with_a_data_folder_and_the_admin_api_needs_the_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Receiver() as hook:
        with running_emulator(data_dir=data) as emu:
            api = EmulatorApi(emu)
            resp = api.signed("POST", "/admin/eventSubscriptions", {"name": "kept", "endpoint": hook.url,
                                                                   "eventDeliverySchema": "CloudEventSchemaV1_0"})
            assert resp.status_code == 201, resp.text
            unsigned = api.s.get(emu.endpoint + "/admin/eventSubscriptions", timeout=10)
            assert unsigned.status_code == 401
            dup = api.signed("POST", "/admin/eventSubscriptions", {"name": "KEPT", "endpoint": hook.url})
            assert dup.status_code == 409 and dup.json()["error"]["code"] == "SubscriptionExists"
            bad = api.signed("POST", "/admin/eventSubscriptions", {"name": "x1y", "endpoint": hook.url, "foo": 1})
            assert bad.status_code == 400 and "unknown key 'foo'" in bad.json()["error"]["message"]
        validations = len(hook.requests)
        with running_emulator(data_dir=data) as emu:
            api = EmulatorApi(emu)
            listed = api.signed("GET", "/admin/eventSubscriptions").json()["value"]
            assert [s["name"] for s in listed] == ["kept"] and listed[0]["eventDeliverySchema"] == (
                "CloudEventSchemaV1_0")
            assert len(hook.requests) == validations  # not validated again
            _, token = api.user()
            api.thread(token)  # the creator alone: ChatThreadCreated, no user-level copy
            assert [r.events[0]["type"] for r in hook.wait_for(1)] == [P + "ChatThreadCreated"]
            assert wait_until(lambda: api.signed("GET", "/admin/eventSubscriptions/kept").json()["delivered"] == 1)
            assert api.signed("DELETE", "/admin/eventSubscriptions/kept").status_code == 204
            assert api.signed("GET", "/admin/eventSubscriptions/kept").status_code == 404


def test_a_hanging_webhook_never_slows_the_chat_api(tmp_path: Path) -> None:
    config = tmp_path / "events.json"
    with Receiver(delay=30) as hanging, Receiver() as healthy:
        config.write_text(json.dumps({"subscriptions": [
            {"name": "hanging", "endpoint": hanging.url, "skipValidation": True},
            {"name": "healthy", "endpoint": healthy.url}]}))
        with running_emulator("--events-config", str(config),
                              env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path)}) as emu:
            api = EmulatorApi(emu)
            _, token = api.user()
            tid = api.thread(token)
            from urllib.parse import quote

            path = f"/chat/threads/{quote(tid, safe='')}/messages?{CHAT_API}"
            slowest = 0.0
            for i in range(30):
                t0 = time.monotonic()
                assert api.bearer("POST", path, token, {"content": f"m{i}"}).status_code == 201
                slowest = max(slowest, time.monotonic() - t0)
            assert slowest < 5.0  # a delivery attempt to the hanging webhook takes 30 s
            assert len(healthy.wait_for(31)) == 31  # thread created + 30 messages, not held back
            def hanging_pending() -> int:
                listed = {s["name"]: s for s in api.signed("GET", "/admin/eventSubscriptions").json()["value"]}
                return listed["hanging"]["delivered"] == 0 and listed["hanging"]["pending"]

            assert wait_until(lambda: hanging_pending() == 31)  # counts are refreshed every 0.1 s


def test_the_delivery_process_never_outlives_the_emulator(tmp_path: Path) -> None:
    import psutil
    from emulator_process import start_emulator

    with Receiver() as hook:
        emu = start_emulator("--event-webhook", hook.url, env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path)})
        children = psutil.Process(emu.process.pid).children()
        assert [c.cmdline()[2] for c in children] == ["azext_communication.emulator.events"]
        emu.stop(signal.SIGKILL)
        _, alive = psutil.wait_procs(children, timeout=10)
        assert alive == []
