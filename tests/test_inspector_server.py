"""The web page inside a running emulator (TLS, the request reader, the delivery process): its URL and key, the
ring of recent requests, what is never logged, the running record, and dead letters from a failing webhook."""

from __future__ import annotations

import http.client
import json
import logging
import os
import ssl
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from webhook_receiver import Receiver, wait_until

from azext_communication.emulator import cli
from azext_communication.emulator.model import Caller
from azext_communication.emulator.server import EmulatorServer


@pytest.fixture
def emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    monkeypatch.setenv("AZURE_COMMUNICATION_EMULATOR_HOME", str(tmp_path / "home"))
    with EmulatorServer(port=0) as server:
        yield server


def _get(emu: EmulatorServer, method: str, path: str, key: str | None = None, body: object = None,
         host: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPSConnection("127.0.0.1", emu.port, context=ssl.create_default_context(cafile=emu.ca_cert))
    headers = {"X-Emulator-Key": key} if key else {}
    if host:
        headers["Host"] = host
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def test_each_start_makes_a_new_key_and_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_COMMUNICATION_EMULATOR_HOME", str(tmp_path))
    with EmulatorServer(port=0) as one, EmulatorServer(port=0) as two:
        assert one.inspector_url == f"{one.endpoint}/_emulator/#key={one.inspector_key}"
        assert one.inspector_key != two.inspector_key and len(one.inspector_key) >= 40


def test_the_request_ring_keeps_service_requests_without_secrets(emu: EmulatorServer,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="azext_communication.emulator")
    token = emu.model.issue_token(emu.model.create_identity().id, ["chat"])[0]
    assert _get(emu, "GET", f"/chat/threads?api-version=2024-03-07&token={token}")[0] == 401
    assert _get(emu, "GET", "/_emulator/api/threads", key=emu.inspector_key)[0] == 200
    assert _get(emu, "GET", f"/_emulator/api/threads?k={emu.inspector_key}")[0] == 401
    status, data = _get(emu, "GET", "/_emulator/api/requests", key=emu.inspector_key)
    lines = json.loads(data)["requests"]
    assert [(r["method"], r["path"], r["status"]) for r in lines] == [("GET", "/chat/threads", 401)]
    assert emu.inspector_key not in data.decode() and token not in data.decode()
    assert emu.inspector_key not in caplog.text and token not in caplog.text
    assert "/_emulator/api/threads" in caplog.text  # the page's own requests are debug lines


def test_a_foreign_host_is_refused_over_tls(emu: EmulatorServer) -> None:
    assert _get(emu, "GET", "/_emulator/", host=f"rebound.example:{emu.port}")[0] == 403
    assert _get(emu, "GET", "/_emulator/", host=f"localhost:{emu.port}")[0] == 200
    assert _get(emu, "GET", "/_emulator/api/overview", key=emu.inspector_key, host=f"localhost:{emu.port}")[0] == 200


def test_the_running_record_holds_the_url_and_is_private(emu: EmulatorServer) -> None:
    path = cli._record(emu)
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert json.loads(path.read_text())["inspectorUrl"] == emu.inspector_url
    finally:
        path.unlink()


def test_the_json_line_names_the_page(emu: EmulatorServer, capsys: pytest.CaptureFixture) -> None:
    cli._announce(emu, json_output=True)
    line = json.loads(capsys.readouterr().out)
    assert line["inspectorUrl"] == emu.inspector_url
    cli._announce(emu, json_output=False)
    assert emu.inspector_url in capsys.readouterr().out


def test_a_failing_webhook_shows_a_dead_letter_that_can_be_redelivered(emu: EmulatorServer) -> None:
    answers = [(500, "bot crashed")]
    with Receiver(answer=lambda rec: answers[-1]) as hook:
        emu.events.create({"name": "bot", "endpoint": hook.url, "skipValidation": True,
                           "retryPolicy": {"maxDeliveryAttempts": 1}})
        user = Caller(emu.model.create_identity().id, frozenset({"chat"}))
        t, _ = emu.model.create_thread(user, "events", [])
        emu.model.send_message(user, t.id, "hi")
        events = {}

        def dead() -> list:
            nonlocal events
            events = json.loads(_get(emu, "GET", "/_emulator/api/events", key=emu.inspector_key)[1])
            return events["deadLetters"]

        assert wait_until(lambda: len(dead()) == 2, 10), events  # thread created, message received
        first = events["deadLetters"][-1]
        assert first["reason"] == "MaxDeliveryAttemptsExceeded" and first["status"] == 500
        assert first["excerpt"] == "bot crashed" and first["attempts"] == 1
        assert events["attempts"][0]["status"] == 500 and events["attempts"][0]["latencyMs"] >= 0
        assert events["subscriptions"][0]["deadLettered"] == 2
        answers.append(200)
        received = len(hook.notifications())
        status, _ = _get(emu, "POST", f"/_emulator/api/events/deadletters/{quote(first['id'])}/redeliver",
                         key=emu.inspector_key)
        assert status == 202
        assert len(hook.wait_for(received + 1, 10)) == received + 1
        assert wait_until(lambda: dead() and events["attempts"][0]["ok"], 10)
        assert events["deadLetters"][-1]["redelivered"] is True
        assert _get(emu, "POST", f"/_emulator/api/events/deadletters/{quote(first['id'])}/redeliver",
                    key=emu.inspector_key)[0] == 404


def test_a_change_reaches_a_waiting_page_within_a_second(emu: EmulatorServer) -> None:
    versions = json.loads(_get(emu, "GET", "/_emulator/api/wait", key=emu.inspector_key)[1])
    since = "&".join(f"{k}={v}" for k, v in versions.items())
    user = Caller(emu.model.create_identity().id, frozenset({"chat"}))
    import threading

    threading.Timer(0.2, lambda: emu.model.create_thread(user, "soon", [])).start()
    started = time.monotonic()
    after = json.loads(_get(emu, "GET", f"/_emulator/api/wait?{since}", key=emu.inspector_key)[1])
    assert time.monotonic() - started < 1.0
    assert after["model"] > versions["model"]
