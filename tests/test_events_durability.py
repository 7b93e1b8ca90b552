"""kill -9 durability of events: with a data folder, every event of every acknowledged write reaches the webhook
at least once after a restart, over several crash rounds, and each thread's events arrive in write order."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from emulator_process import CHAT_API, IDENTITY_API, KeepAliveClient, start_emulator
from webhook_receiver import Receiver

pytestmark = pytest.mark.live

ROUNDS = 3
WRITERS = 4
IN_THREAD = "Microsoft.Communication.ChatMessageReceivedInThread"


def _user(client: KeepAliveClient) -> tuple[str, str]:
    status, data = client.call("POST", f"/identities?{IDENTITY_API}", None, {"createTokenWithScopes": ["chat"]})
    assert status == 201, data
    body = json.loads(data)
    return body["identity"]["id"], body["accessToken"]["token"]


def _writer(emu, token: str, tid: str, acked: list[str], stop: threading.Event) -> None:
    client = KeepAliveClient.to(emu)
    path = f"/chat/threads/{quote(tid, safe='')}/messages?{CHAT_API}"
    try:
        i = 0
        while not stop.is_set():
            i += 1
            status, data = client.call("POST", path, token, {"content": f"m{i}"})
            if status != 201:
                return
            acked.append(json.loads(data)["id"])
    except (OSError, http.client.HTTPException):
        pass  # the kill
    finally:
        client.close()


def test_every_acknowledged_write_is_delivered_after_kill_9(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    args = ("--event-retry-scale", "0.01", "--log-level", "WARNING")
    acked: dict[str, list[str]] = {}  # thread -> message ids acknowledged with 201, in order per writer
    with Receiver() as hook:
        hook_args = ("--events-config", str(_config(tmp_path, hook.url)))
        emu = start_emulator(*args, *hook_args, data_dir=data_dir)
        client = KeepAliveClient.to(emu)
        users = [_user(client) for _ in range(WRITERS)]
        threads = []
        for _, token in users:
            status, data = client.call("POST", f"/chat/threads?{CHAT_API}", token, {"topic": "t", "participants": []})
            assert status == 201, data
            threads.append(json.loads(data)["chatThread"]["id"])
        client.close()
        for rnd in range(ROUNDS):
            stop = threading.Event()
            workers = []
            for (_, token), tid in zip(users, threads, strict=True):
                ids = acked.setdefault(tid, [])
                workers.append(threading.Thread(target=_writer, args=(emu, token, tid, ids, stop)))
            for w in workers:
                w.start()
            time.sleep(1.0 + 0.3 * rnd)
            emu.stop(signal.SIGKILL)
            stop.set()
            for w in workers:
                w.join(30)
            emu = start_emulator(*args, *hook_args, data_dir=data_dir)
        total = sum(len(v) for v in acked.values())
        assert total > 100 * ROUNDS // 3, total
        deadline = time.monotonic() + 60
        missing: set[tuple[str, str]] = set()
        while time.monotonic() < deadline:
            seen = {(e["data"]["threadId"], e["data"]["messageId"]) for e in hook.events()
                    if e["eventType"] == IN_THREAD}
            missing = {(tid, mid) for tid, mids in acked.items() for mid in mids} - seen
            if not missing:
                break
            time.sleep(0.2)
        emu.stop()
        assert not missing, f"{len(missing)} of {total} acknowledged sends have no event, e.g. {sorted(missing)[:3]}"
        first_seen: dict[str, list[int]] = {}
        seen_ids: set[str] = set()
        for e in hook.events():
            if e["eventType"] == IN_THREAD and e["id"] not in seen_ids:
                seen_ids.add(e["id"])
                first_seen.setdefault(e["data"]["threadId"], []).append(int(e["data"]["messageId"]))
        for tid, mids in first_seen.items():
            assert mids == sorted(mids), f"thread {tid}: events out of write order"
        delivered = len([e for e in hook.events() if e["eventType"] == IN_THREAD])
        print(f"events: {total} acknowledged sends over {ROUNDS} kill -9 rounds, {len(seen_ids)} distinct events "
              f"delivered ({delivered - len(seen_ids)} redelivered after restarts)")


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"subscriptions": [
        {"name": "durable", "endpoint": url, "filter": {"includedEventTypes": [IN_THREAD]}}]}))
    return path
