"""The emulator as a process: JSON handshake, signals, persistence (also across kill -9), concurrency, faults."""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import shlex
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests
from emulator_process import ROOT, EmulatorApi, running_emulator, start_emulator

CHAT = "api-version=2024-03-07"
IDV = "api-version=2023-10-01"


@pytest.fixture
def home(tmp_path: Path) -> dict:
    """Keep certificates and the default access key out of the real home folder."""
    return {"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path / "home")}


def _sender(endpoint: str, ca: str, token: str, tid: str, count: int | None, acked: list, stop: threading.Event,
            errors: list) -> None:
    """One keep-alive connection sending messages; records the ids acknowledged with 201."""
    parts = urlsplit(endpoint)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=30,
                                       context=ssl.create_default_context(cafile=ca))
    path = f"/chat/threads/{quote(tid, safe='')}/messages?{CHAT}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    i = 0
    try:
        while not stop.is_set() and (count is None or i < count):
            conn.request("POST", path, body=json.dumps({"content": f"m{i}"}), headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 201:
                errors.append((resp.status, data))
                return
            acked.append(json.loads(data)["id"])
            i += 1
    except (OSError, http.client.HTTPException) as exc:
        errors.append(exc)
    finally:
        conn.close()


def test_json_handshake_stdout_and_sigterm(home: dict) -> None:
    emu = start_emulator(env=home)
    try:
        assert emu.endpoint.startswith("https://127.0.0.1:") and emu.endpoint.count(":") == 2
        assert emu.connection_string == f"endpoint={emu.endpoint}/;accesskey={emu.access_key}"
        assert Path(emu.ca_bundle).is_file() and Path(emu.ca_bundle).parent == Path(home[
            "AZURE_COMMUNICATION_EMULATOR_HOME"])
        api = EmulatorApi(emu)
        assert api.signed("POST", f"/identities?{IDV}").status_code == 201
        emu.process.send_signal(signal.SIGTERM)
        out, err = emu.process.communicate(timeout=15)
        assert emu.process.returncode == 0
        assert out == b""  # the JSON line was the only stdout output
        assert "listening on " + emu.endpoint in emu.stderr_text()  # logs go to stderr
    finally:
        emu.stop()


def test_human_output_sigint_and_stable_key(home: dict) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **home)
    keys = []
    for _ in range(2):
        proc = subprocess.Popen([sys.executable, "-m", "azext_communication.emulator", "--port", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(ROOT), text=True)
        try:
            lines = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(line)
                if "Ctrl+C" in line:
                    break
            text = "".join(lines)
            assert "https://127.0.0.1:" in text and "export REQUESTS_CA_BUNDLE=" in text
            assert "trust the emulator there once: az communication emulator trust" in text
            export = next(ln for ln in lines if "AZURE_COMMUNICATION_CONNECTION_STRING=" in ln)
            conn = shlex.split(export.strip())[1].split("=", 1)[1]  # the paste-ready export line
            keys.append(conn.split("accesskey=", 1)[1])
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=15)
            assert proc.returncode == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert keys[0] == keys[1]  # generated once, then reused


def test_invalid_options_and_busy_data_dir(home: dict, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **home)
    bad = subprocess.run([sys.executable, "-m", "azext_communication.emulator", "--port", "0", "--access-key", "%%%"],
                         capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=30)
    assert bad.returncode == 2 and "base64" in bad.stderr and bad.stdout == ""
    with running_emulator(data_dir=tmp_path / "data", env=home):
        busy = subprocess.run([sys.executable, "-m", "azext_communication.emulator", "--port", "0", "--json",
                               "--data-dir", str(tmp_path / "data")],
                              capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=30)
        assert busy.returncode == 1 and "in use" in busy.stderr and busy.stdout == ""


def test_persistence_across_restart(home: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.communication.chat import ChatClient, CommunicationTokenCredential
    from azure.communication.identity import CommunicationIdentityClient

    data = tmp_path / "data"
    with running_emulator(data_dir=data, env=home) as emu:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle)
        identity = CommunicationIdentityClient.from_connection_string(emu.connection_string)
        user, token = identity.create_user_and_token(["chat"])
        chat = ChatClient(emu.endpoint, CommunicationTokenCredential(token.token))
        tid = chat.create_chat_thread("persisted").chat_thread.id
        tc = chat.get_chat_thread_client(tid)
        mid = tc.send_message("before restart").id
        tc.update_topic("renamed")
        first_conn = emu.connection_string
    assert emu.process.returncode == 0
    with running_emulator(data_dir=data, env=home) as emu2:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu2.ca_bundle)
        assert emu2.connection_string.split(";")[1] == first_conn.split(";")[1]  # same key from the data folder
        chat = ChatClient(emu2.endpoint, CommunicationTokenCredential(token.token))  # old token still valid
        tc = chat.get_chat_thread_client(tid)
        assert tc.get_properties().topic == "renamed"
        assert tc.get_message(mid).content.message == "before restart"
        assert [m.sequence_id for m in tc.list_messages()] == ["4", "3", "2", "1"]
        assert tc.send_message("after restart").id
        identity = CommunicationIdentityClient.from_connection_string(emu2.connection_string)
        identity.revoke_tokens(user)


def _crash_rounds():
    """scripts/crash_rounds.py, which also runs standalone with more rounds for the reliability figures."""
    spec = importlib.util.spec_from_file_location("crash_rounds", ROOT / "scripts" / "crash_rounds.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["crash_rounds"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_kill9_keeps_every_acknowledged_write(home: dict, tmp_path: Path) -> None:
    """Three rounds of kill -9 during bursts of messages, thread and identity creations and message edits from
    6 writers: after each, `PRAGMA integrity_check` is ok and, after the restart, every acknowledged write of
    every round is there (the script raises otherwise), with contiguous sequence ids."""
    lines: list[str] = []
    figures = _crash_rounds().run_rounds(tmp_path / "data", rounds=3, writers=6, min_acked=200, env=home,
                                         log=lines.append)
    assert len(figures["rounds"]) == 3 and figures["lost"] == 0, lines
    for rnd in figures["rounds"]:
        assert rnd["integrity_check"] == "ok"
        assert rnd["acked_this_round"] >= 200  # the kill came in the middle of a burst, not after it
        assert rnd["recovered"] == rnd["acked_total"]
    assert all(n > 0 for n in figures["acked"].values()) and figures["acked_edits"] > 0
    with running_emulator(data_dir=tmp_path / "data", env=home) as emu:  # and it keeps taking writes
        api = EmulatorApi(emu)
        _, token = api.user()
        tid = api.thread(token)
        assert api.bearer("POST", f"/chat/threads/{quote(tid, safe='')}/messages?{CHAT}", token,
                          {"content": "after the crashes"}).status_code == 201


def test_concurrent_senders_no_lost_or_duplicate_sequence(home: dict) -> None:
    with running_emulator(env=home) as emu:
        api = EmulatorApi(emu)
        _, token = api.user()
        tid = api.thread(token)
        acked: list[str] = []
        errors: list = []
        stop = threading.Event()
        threads = [threading.Thread(target=_sender, args=(emu.endpoint, emu.ca_bundle, token, tid, 200, acked, stop,
                                                          errors)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        messages = api.all_messages(token, tid)
        user_msgs = [m for m in messages if m["type"] == "text"]
        assert len(user_msgs) == 1600 and len(set(acked)) == 1600
        assert {m["id"] for m in user_msgs} == set(acked)
        seqs = sorted(int(m["sequenceId"]) for m in messages)
        assert seqs == list(range(1, 1603))


def test_fault_option_and_admin_faults(home: dict) -> None:
    with running_emulator("--fault", "503:2", env=home) as emu:
        api = EmulatorApi(emu)
        for _ in range(2):
            resp = api.signed("POST", f"/identities?{IDV}")
            assert resp.status_code == 503 and resp.headers["Retry-After"] == "1"
            assert resp.json()["error"]["code"] == "ServiceUnavailable"
        _, token = api.user()
        assert api.signed("POST", "/admin/faults", {"mode": "close", "count": 1}).status_code == 200
        with pytest.raises(requests.ConnectionError):
            api.bearer("GET", f"/chat/threads?{CHAT}", token)
        assert api.bearer("GET", f"/chat/threads?{CHAT}", token).status_code == 200
        assert api.signed("POST", "/admin/faults", {"mode": "stall", "count": 1, "stallSeconds": 0.5}).ok
        t0 = time.monotonic()
        assert api.bearer("GET", f"/chat/threads?{CHAT}", token).status_code == 200
        assert time.monotonic() - t0 >= 0.5
        assert api.signed("POST", "/admin/faults", {"mode": "429", "count": 3, "retryAfter": 2}).ok
        assert api.signed("DELETE", "/admin/faults").status_code == 204
        assert api.bearer("GET", f"/chat/threads?{CHAT}", token).status_code == 200


def test_throttle_option(home: dict) -> None:
    with running_emulator("--throttle", env=home) as emu:
        api = EmulatorApi(emu)
        _, token = api.user()
        codes = [api.bearer("POST", f"/chat/threads?{CHAT}", token, {"topic": "x", "participants": []}).status_code
                 for _ in range(11)]
        assert codes[:10] == [201] * 10 and codes[10] == 429
