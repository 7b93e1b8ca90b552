"""The events delivery process is supervised: killed during a burst of sends, it is started again (one line on
stderr says so) and every event of every acknowledged send still reaches the webhook, at least once."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest
from emulator_process import CHAT_API, IDENTITY_API, KeepAliveClient, start_emulator
from webhook_receiver import Receiver, wait_until

from azext_communication.emulator.events.link import child_dead_letter_id, renumber

pytestmark = pytest.mark.live

IN_THREAD = "Microsoft.Communication.ChatMessageReceivedInThread"
RESTART_LINE = "the event delivery process stopped (killed by signal 9); restarted it"


def _delivery_process(emu_pid: int) -> psutil.Process:
    kids = [p for p in psutil.Process(emu_pid).children()
            if "azext_communication.emulator.events" in " ".join(p.cmdline())]
    assert len(kids) == 1, kids
    return kids[0]


def _burst(emu, token: str, tid: str, count: int, acked: list[str]) -> None:
    client = KeepAliveClient.to(emu)
    try:
        for i in range(count):
            status, data = client.call("POST", f"/chat/threads/{quote(tid, safe='')}/messages?{CHAT_API}", token,
                                       {"content": f"m{i}"})
            assert status == 201, data
            acked.append(json.loads(data)["id"])
    finally:
        client.close()


@pytest.mark.parametrize("data_folder", [False, True], ids=["memory", "data-folder"])
def test_a_killed_delivery_process_is_restarted_and_every_event_arrives(tmp_path: Path, data_folder: bool) -> None:
    with Receiver() as hook:
        config = tmp_path / "events.json"
        config.write_text(json.dumps({"subscriptions": [
            {"name": "burst", "endpoint": hook.url, "filter": {"includedEventTypes": [IN_THREAD]}}]}))
        emu = start_emulator("--events-config", str(config), "--event-retry-scale", "0.01",
                             data_dir=tmp_path / "data" if data_folder else None)
        try:
            client = KeepAliveClient.to(emu)
            status, data = client.call("POST", f"/identities?{IDENTITY_API}", None, {"createTokenWithScopes": ["chat"]})
            token = json.loads(data)["accessToken"]["token"]
            status, data = client.call("POST", f"/chat/threads?{CHAT_API}", token, {"topic": "t", "participants": []})
            assert status == 201, data
            tid = json.loads(data)["chatThread"]["id"]
            client.close()

            first = _delivery_process(emu.process.pid)
            acked: list[str] = []
            sender = threading.Thread(target=_burst, args=(emu, token, tid, 400, acked))
            sender.start()
            assert wait_until(lambda: len(acked) >= 100, 30)
            first.send_signal(signal.SIGKILL)  # mid-burst: sends go on while it is down
            first.wait(10)
            sender.join(120)
            assert len(acked) == 400

            def all_delivered() -> bool:
                seen = {e["data"]["messageId"] for e in hook.events() if e["eventType"] == IN_THREAD}
                return set(acked) <= seen

            assert wait_until(all_delivered, 60), (
                f"{len(set(acked) - {e['data']['messageId'] for e in hook.events()})} of 400 events never arrived")
            second = _delivery_process(emu.process.pid)
            assert second.pid != first.pid
            text = emu.stderr_text()
        finally:
            emu.stop()
        restart_lines = [line for line in text.splitlines() if RESTART_LINE in line]
        assert len(restart_lines) == 1, text[-2000:]


def test_restarts_back_off_and_a_clean_stop_restarts_nothing(tmp_path: Path) -> None:
    with Receiver() as hook:
        emu = start_emulator("--event-webhook", hook.url, "--event-retry-scale", "0.01")
        try:
            for _ in range(3):
                proc = _delivery_process(emu.process.pid)
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                assert wait_until(lambda p=proc: _has_new_child(emu.process.pid, p.pid), 30)
            last = _delivery_process(emu.process.pid)
            text = emu.stderr_text()
        finally:
            code = emu.stop()
        assert code == 0
        assert wait_until(lambda: not last.is_running() or last.status() == psutil.STATUS_ZOMBIE, 10)
        delays = [float(line.split("restarted it after ", 1)[1].split(" s", 1)[0])
                  for line in text.splitlines() if "restarted it after" in line]
        assert delays == sorted(delays) and len(delays) == 3 and delays[0] < delays[-1], delays
        assert "Traceback" not in text


def _has_new_child(emu_pid: int, old_pid: int) -> bool:
    try:
        return _delivery_process(emu_pid).pid != old_pid
    except AssertionError:
        return False


def test_a_restarted_process_journal_goes_on_numbering_and_its_dead_letter_ids_are_its_own() -> None:
    first = renumber([{"kind": "attempt", "seq": 7}, {"kind": "deadLetter", "id": "dl-1", "seq": 8}], 0, 0)
    assert [r["seq"] for r in first] == [7, 8] and first[1]["id"] == "dl-1"
    second = renumber([{"kind": "attempt", "seq": 1}, {"kind": "deadLetter", "id": "dl-1", "seq": 2}], 8, 1)
    assert [r["seq"] for r in second] == [9, 10]
    assert second[1]["id"] == "dl-1.r1" != first[1]["id"]
    assert child_dead_letter_id("dl-1.r1", 1) == "dl-1"
    assert child_dead_letter_id("dl-1", 1) is None  # the first process's: its event died with it
    assert child_dead_letter_id("dl-1.r1", 11) is None
    assert child_dead_letter_id("dl-1", 0) == "dl-1"
