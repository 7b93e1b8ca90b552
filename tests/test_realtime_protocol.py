"""The emulator's real-time steps as the chat SDK's trouter client takes them (acs-realtime-spec.md sections 2-4,
6, 7, 10): config route, allocation, socket.io handshake, registrar, CORS, and the WebSocket session."""

from __future__ import annotations

import json
import select
import socket
import ssl
import time
from collections.abc import Iterator

import pytest
from realtime_client import RealtimeClient, push_body
from websockets.exceptions import ConnectionClosed, InvalidStatus

from azext_communication.emulator.model import Caller, ParticipantSpec
from azext_communication.emulator.server import EmulatorServer

PAGE = "http://127.0.0.1:5173"


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    home = tmp_path_factory.mktemp("rt-home")
    server = EmulatorServer(port=0, data_dir=home)
    with server:
        yield server


@pytest.fixture(scope="module")
def client(emu: EmulatorServer) -> RealtimeClient:
    return RealtimeClient(emu)


def new_user(emu: EmulatorServer) -> tuple[Caller, str]:
    ident = emu.model.create_identity()
    token, _ = emu.model.issue_token(ident.id, ["chat"])
    return emu.model.authenticate(token), token


@pytest.mark.parametrize("path", ["/chat/config/realTimeNotifications?api-version=2024-09-01",
                                  "//chat/config/realTimeNotifications?api-version=2024-09-01"])
def test_config_names_trouter_and_registrar_on_the_emulator_origin(emu, client, path: str) -> None:
    _, token = new_user(emu)
    status, headers, body = client.request("GET", path, {"Authorization": f"Bearer {token}"})
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"trouterServiceUrl": emu.endpoint, "registrarServiceUrl": f"{emu.endpoint}/registrar",
                                "cloudType": "Public"}


@pytest.mark.parametrize("auth", [None, "Bearer nope", "Basic abc"])
def test_config_without_a_valid_token_is_401(emu, client, auth: str | None) -> None:
    status, _, body = client.request("GET", "/chat/config/realTimeNotifications?api-version=2024-09-01",
                                     {"Authorization": auth} if auth else {})
    assert status == 401 and json.loads(body)["error"]["code"]


def test_config_with_a_revoked_token_is_401(emu, client) -> None:
    caller, token = new_user(emu)
    emu.model.revoke_tokens(caller.user_id)
    status, _, _ = client.request("GET", "/chat/config/realTimeNotifications", {"Authorization": f"Bearer {token}"})
    assert status == 401


def test_allocation_json_has_what_the_trouter_client_reads(emu, client) -> None:
    _, token = new_user(emu)
    alloc = client.allocate(token)
    assert alloc["socketio"] == f"https://127.0.0.1:{emu.port}/"  # a trailing slash and an explicit port
    assert alloc["url"] == alloc["surl"] == f"{emu.endpoint}/trouter/f/{alloc['id']}/"
    assert alloc["ccid"] == alloc["id"] and int(alloc["ttl"]) >= 3600
    params = alloc["connectparams"]
    assert "scae" not in params and all(isinstance(v, (str, int)) for v in params.values())
    status, headers, _ = client.request("POST", "/v4/a", {"Content-Type": "text/plain"}, b"")
    assert status == 401


def test_handshake_answers_sid_heartbeat_close_and_websocket_only(emu, client) -> None:
    _, token = new_user(emu)
    status, headers, body = client.request("GET", "/socket.io/1/?v=v4&t=1", {"X-Skypetoken": token})
    sid, heartbeat, close, transports = body.decode().split(":")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert len(sid) >= 24 and int(heartbeat) > 30 and int(close) > 30 and transports == "websocket"
    assert client.request("GET", "/socket.io/1/", {})[0] == 401


def test_registrar_accepts_and_deletes_a_registration(emu, client) -> None:
    _, token = new_user(emu)
    body = json.dumps({"registrationId": "r1", "transports": {"TROUTER": [{"path": "x", "ttl": 7200}]}}).encode()
    hdrs = {"X-Skypetoken": token, "Content-Type": "application/json"}
    assert client.request("POST", "/registrar/v3/registrations", hdrs, body)[0] == 202
    assert "r1" in emu.realtime.hub.registrations
    assert client.request("DELETE", "/registrar/v3/registrations/r1", {"X-Skypetoken": token})[0] == 204
    assert "r1" not in emu.realtime.hub.registrations
    assert client.request("POST", "/registrar/v3/registrations", {}, body)[0] == 401


def test_trouter_check_answers_trouter(client) -> None:
    assert client.request("GET", "/?check=1")[::2] == (200, b"Trouter")


@pytest.mark.parametrize(("path", "method", "requested"), [
    ("/chat/config/realTimeNotifications", "GET", "authorization,x-ms-client-request-id,x-ms-useragent"),
    ("/v4/a", "POST", "x-skypetoken"),
    ("/socket.io/1/", "GET", "x-skypetoken"),
    ("/registrar/v3/registrations", "POST", "content-type,x-skypetoken"),
    ("/chat/threads", "POST", "authorization,content-type,repeatability-request-id"),
])
def test_preflights_of_an_allowed_origin_are_answered(client, path: str, method: str, requested: str) -> None:
    status, headers, _ = client.request("OPTIONS", path, {"Origin": PAGE, "Access-Control-Request-Method": method,
                                                          "Access-Control-Request-Headers": requested})
    assert status == 204
    assert headers["access-control-allow-origin"] == PAGE
    assert method in headers["access-control-allow-methods"]
    assert headers["access-control-allow-headers"] == requested and int(headers["access-control-max-age"]) > 0


def test_an_origin_not_allowed_gets_no_cors_headers(emu, client) -> None:
    status, headers, _ = client.request("OPTIONS", "/v4/a", {"Origin": "https://evil.example",
                                                             "Access-Control-Request-Method": "POST"})
    assert status == 403 and not any(k.startswith("access-control") for k in headers)
    _, token = new_user(emu)
    status, headers, _ = client.request("GET", "/chat/threads?api-version=2024-03-07",
                                        {"Authorization": f"Bearer {token}", "Origin": "https://evil.example"})
    assert status == 200 and "access-control-allow-origin" not in headers


def test_actual_answers_to_an_allowed_origin_carry_cors_headers(emu, client) -> None:
    _, token = new_user(emu)
    status, headers, _ = client.request("GET", "/chat/threads?api-version=2024-03-07",
                                        {"Authorization": f"Bearer {token}", "Origin": "http://localhost:3000"})
    assert status == 200 and headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "www-authenticate" in headers["access-control-expose-headers"]
    status, headers, _ = client.request("GET", "/chat/threads?api-version=2024-03-07", {"Origin": PAGE})
    assert status == 401 and headers["access-control-allow-origin"] == PAGE  # the browser may read the error


def test_socket_session_connects_acks_and_pushes_then_ends_on_revocation(emu, client) -> None:
    alice, _ = new_user(emu)
    bob, bob_token = new_user(emu)
    ws = client.live_socket(bob_token)
    ws.send('5:1+::{"name":"user.activity","args":[{"state":"active","cv":"x"}]}')
    assert ws.recv(timeout=5) == "6:::1"
    ws.send('5:2+::{"name":"ping"}')
    assert ws.recv(timeout=5) == "6:::2"
    thread, _ = emu.model.create_thread(alice, "t", [ParticipantSpec(bob.user_id, "Bob")])
    assert push_body(ws.recv(timeout=5))["eventId"] == 257
    emu.model.send_message(alice, thread.id, "hello")
    frame = json.loads(ws.recv(timeout=5)[4:])
    assert frame["method"] == "POST" and isinstance(frame["id"], int) and frame["url"].startswith("/trouter/f/")
    body = json.loads(frame["body"])
    assert (body["eventId"], body["messageBody"], body["recipientMri"]) == (200, "hello", bob.user_id)
    ws.send(f'3:::{{"status":200,"headers":{{}},"body":"","id":{frame["id"]}}}')
    emu.model.revoke_tokens(bob.user_id)
    assert ws.recv(timeout=5) == '0:::{"reason":"unauthorized"}'
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=5)


def test_an_unknown_sid_gets_a_disconnect_so_the_client_allocates_again(client) -> None:
    ws = client.socket("not-a-sid")
    assert ws.recv(timeout=5) == "0::"
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=5)


def test_a_sid_opens_one_socket_only(emu, client) -> None:
    _, token = new_user(emu)
    sid = client.handshake(token)
    first = client.socket(sid)
    assert first.recv(timeout=5) == "1::"
    assert client.socket(sid).recv(timeout=5) == "0::"
    first.close()


def test_tls_sends_nothing_between_its_handshake_and_the_first_answer(emu) -> None:
    """TLS 1.3 session tickets would reach a client just as it writes its upgrade request. Clients that read in a
    background thread while another writes (websockets' sync client, python-socketio's) then use one OpenSSL
    object from two threads at once, and the request can vanish: the handshake times out. So no tickets."""
    ctx = ssl.create_default_context(cafile=emu.ca_cert)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert select.select([tls], [], [], 0.5)[0] == []  # nothing to read before a request is sent
        tls.sendall(b"GET /?check=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"Trouter")
        assert not tls.session.has_ticket


def test_a_websocket_from_an_origin_not_allowed_is_refused(emu, client) -> None:
    _, token = new_user(emu)
    with pytest.raises(InvalidStatus) as refused:
        client.socket(client.handshake(token), origin="https://evil.example")
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize(("frame", "expected"), [
    ("1::", (1, None, False, "")),
    ("2::", (2, None, False, "")),
    ('5:3+::{"name":"ping"}', (5, 3, True, '{"name":"ping"}')),
    ('3:::{"status":200,"id":7}', (3, None, False, '{"status":200,"id":7}')),
    ("6:::12", (6, None, False, "12")),
    ("0::", (0, None, False, "")),
])
def test_socketio_frames_parse(frame: str, expected: tuple) -> None:
    from azext_communication.emulator.realtime import socketio

    p = socketio.parse(frame)
    assert (p.type, p.ack_id, p.wants_data, p.data) == expected


@pytest.mark.parametrize("frame", ["", "hello", "9::", "x::", "5:a+::{}", "5"])
def test_text_that_is_not_socketio_is_ignored(frame: str) -> None:
    from azext_communication.emulator.realtime import socketio

    assert socketio.parse(frame) is None


def test_socketio_frames_format() -> None:
    from azext_communication.emulator.realtime import socketio

    assert socketio.ack_frame(4) == "6:::4"
    assert socketio.disconnect_frame() == "0::" and socketio.disconnect_frame("unauthorized") == (
        '0:::{"reason":"unauthorized"}')
    assert socketio.event_frame("trouter.connected", {"ttl": 1}) == (
        '5:::{"name":"trouter.connected","args":[{"ttl":1}]}')
    assert socketio.parse('5:1+::{"name":"user.activity","args":[{"state":"active"}]}').event() == (
        "user.activity", [{"state": "active"}])


def test_the_sid_of_a_socket_is_not_logged(emu, client, caplog: pytest.LogCaptureFixture) -> None:
    _, token = new_user(emu)
    with caplog.at_level("INFO", logger="azext_communication.emulator"):
        sid = client.handshake(token)
        ws = client.socket(sid)
        assert ws.recv(timeout=5) == "1::"
        ws.close()
        deadline = time.monotonic() + 5
        while "websocket/<sid> 101" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "GET /socket.io/1/websocket/<sid> 101 (socket closed)" in caplog.text
    assert sid not in caplog.text and token not in caplog.text
