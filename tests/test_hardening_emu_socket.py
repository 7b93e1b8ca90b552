"""Hostile clients against a real emulator process over raw TLS sockets (verification on, 127.0.0.1 only).

A derandomized hypothesis run sends malformed requests (garbage request lines, bad versions, odd and oversized
headers, duplicated and conflicting framing headers, chunked bodies, bodies longer than announced), each on its
own connection: every one gets a JSON answer, never a 5xx other than 501 (unknown transfer coding) and 505
(HTTP version), and never a hang. Slow clients (a byte at a time, a body shorter than its Content-Length, a
stalled TLS handshake, an idle keep-alive) are timed out while other clients keep being served; SDK calls still
work afterwards.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import psutil
import pytest
from emulator_process import EmulatorApi, EmulatorProcess, running_emulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CHAT = "api-version=2024-03-07"
IDV = "api-version=2023-10-01"
REQUEST_TIMEOUT = 1.5
IDLE_TIMEOUT = 3.0
SOCKET_CASES = 600
CASES = {"socket": 0}


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    home = tmp_path_factory.mktemp("emuhome")
    with running_emulator("--request-timeout", str(REQUEST_TIMEOUT), "--idle-timeout", str(IDLE_TIMEOUT),
                          env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(home)}) as proc:
        yield proc
        assert proc.process.poll() is None, "the emulator died"
        assert "Traceback" not in proc.stderr_text()


_CONTEXTS: dict[str, ssl.SSLContext] = {}


def tls_context(emu: EmulatorProcess) -> ssl.SSLContext:
    """A verifying client context that trusts the emulator's CA alone (loading the whole bundle per
    connection would dominate the run time)."""
    ca = str(Path(emu.ca_bundle).with_name("ca.pem"))
    if ca not in _CONTEXTS:
        _CONTEXTS[ca] = ssl.create_default_context(cafile=ca)
    return _CONTEXTS[ca]


class Conn:
    """One raw TLS connection that verifies the emulator's certificate."""

    def __init__(self, emu: EmulatorProcess, timeout: float = 10.0) -> None:
        parts = urlsplit(emu.endpoint)
        ctx = tls_context(emu)
        raw = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self.sock = ctx.wrap_socket(raw, server_hostname=parts.hostname)

    def send(self, data: bytes) -> None:
        # the server may answer and close before reading everything (431, 413): then read its answer
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.sock.sendall(data)

    def read_all(self) -> bytes:
        """Everything until the server closes; a socket timeout here means the server hung."""
        data = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                break
            if not chunk:
                break
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


def responses(data: bytes, head: bool = False) -> list[tuple[int, dict, bytes]]:
    """Split a byte stream into HTTP responses (status, lower-cased headers, body); answers to HEAD have none."""
    out = []
    while data:
        top, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"truncated response head: {data[:200]!r}"
        lines = top.decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1.1 "), lines[0]
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        n = int(headers.get("content-length", "0"))
        if head and status >= 200 and (not rest or rest.startswith(b"HTTP/")):
            n = 0  # a HEAD answer has no body (unless the request line was too broken to be read as HEAD)
        body, data = rest[:n], rest[n:]
        assert len(body) == n
        out.append((status, headers, body))
    return out


def check(status: int, headers: dict, body: bytes, head: bool = False) -> None:
    """The invariants of every answer."""
    assert status < 500 or status in (501, 505), (status, body[:300])  # unknown transfer coding, HTTP/2.0
    assert b"Traceback" not in body
    if head and status >= 200:
        assert headers["content-type"] == "application/json; charset=utf-8" or headers["content-length"] == "0"
    elif body:
        assert headers["content-type"] == "application/json; charset=utf-8"
        data = json.loads(body)
        if status >= 400:
            assert set(data) == {"error"} and data["error"]["code"] and data["error"]["message"]
    elif status >= 400:
        raise AssertionError(f"error {status} without a JSON body")


def exchange(emu: EmulatorProcess, payload: bytes, timeout: float = 10.0) -> list[tuple[int, dict, bytes]]:
    conn = Conn(emu, timeout)
    try:
        conn.send(payload)
        return responses(conn.read_all(), head=payload.startswith(b"HEAD "))
    finally:
        conn.close()


@pytest.fixture(scope="module")
def token(emu: EmulatorProcess) -> str:
    return EmulatorApi(emu).user()[1]


# ----------------------------------------------------------------------------------------------- strategies

latin = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                max_size=40)
request_lines = st.one_of(
    st.binary(max_size=80).map(lambda b: b.replace(b"\n", b"")),
    st.tuples(st.sampled_from([b"GET", b"POST", b"PATCH", b"DELETE", b"HEAD", b"OPTIONS", b"get", b"BREW", b"",
                               b"G\x00T"]),
              st.sampled_from([b"/chat/threads?" + CHAT.encode(), b"/identities?" + IDV.encode(), b"/", b"*",
                               b"//x", b"/%zz", b"/chat/threads/%C0%AF", b"http://h/chat/threads", b"/a b",
                               b"/" + b"a" * 9000]),
              st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.1 x", b"HTTP/0.9", b"HTTP/x",
                               b"http/1.1", b"", b"HTTP/1.10"]))
    .map(lambda t: b" ".join(p for p in t if p) if t[2] else b" ".join(t[:2])),
)


@st.composite
def header_blocks(draw: st.DrawFn, token: str) -> list[bytes]:
    lines = []
    if draw(st.booleans()):
        lines.append(b"Host: 127.0.0.1")
    if draw(st.booleans()):
        lines.append(f"Authorization: Bearer {token}".encode())
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 7))
        if kind == 0:
            lines.append(f"{draw(latin)}: {draw(latin)}".encode("latin-1"))
        elif kind == 1:
            lines.append(draw(st.binary(min_size=1, max_size=40)).replace(b"\n", b""))  # no colon, NULs...
        elif kind == 2:
            lines.append(b" folded continuation")                               # obs-fold
        elif kind == 3:
            lines.append(b"X-Big: " + b"v" * draw(st.sampled_from([100, 20_000, 70_000])))
        elif kind == 4:
            lines.extend([b"X-Many: 1"] * draw(st.sampled_from([10, 101, 150])))
        elif kind == 5:
            lines.append(b"Host: " + draw(st.sampled_from([b"a", b"[::1]:1", b"h\rx", b"x/y", b"", b"\xff"])))
        elif kind == 6:
            lines.append(b"Expect: 100-continue")
        else:
            lines.append(b"Content-Type: " + draw(st.sampled_from([b"application/json", b"text/plain", b"\x00"])))
    return lines


@st.composite
def framed_bodies(draw: st.DrawFn) -> tuple[list[bytes], bytes]:
    """(framing header lines, bytes after the head) that never leave the server waiting for more."""
    body = draw(st.one_of(st.binary(max_size=300), st.sampled_from([b'{"topic":"t","participants":[]}',
                                                                    b'{"content":"x"}', b"[" * 5000, b"{}"])))
    kind = draw(st.integers(0, 7))
    if kind == 0:
        return [], b""
    if kind == 1:
        return [f"Content-Length: {len(body)}".encode()], body
    if kind == 2:  # body longer than announced: the rest is read as the next request
        cut = draw(st.integers(0, len(body)))
        return [f"Content-Length: {cut}".encode()], body
    if kind == 3:
        return [b"Content-Length: " + draw(st.sampled_from([b"-1", b"+5", b"5_0", b"0x10", b"1e3", b"", b" 0 ",
                                                            b"\xd9\xa5", b"99999999999999999999"]))], b""
    if kind == 4:
        return [f"Content-Length: {len(body)}".encode(), f"Content-Length: {len(body) + 1}".encode()], body
    if kind == 5:
        return [b"Transfer-Encoding: chunked", f"Content-Length: {len(body)}".encode()], body
    if kind == 6:
        chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n" if body else b"0\r\n\r\n"
        return [b"Transfer-Encoding: chunked"], chunked
    te = draw(st.sampled_from([b"gzip", b"chunked, gzip", b"identity", b"x"]))
    return [b"Transfer-Encoding: " + te], body


# ----------------------------------------------------------------------------------------------- the tests

def test_socket_fuzz_every_answer_is_json(emu: EmulatorProcess, token: str) -> None:
    """A few hundred malformed requests, one connection each; the emulator answers all of them."""

    @settings(derandomize=True, database=None, deadline=None, max_examples=SOCKET_CASES, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        line = data.draw(request_lines)
        headers = data.draw(header_blocks(token))
        framing, body = data.draw(framed_bodies())
        order = data.draw(st.permutations(headers + framing + [b"Connection: close"]))
        payload = line + b"\r\n" + b"".join(h + b"\r\n" for h in order) + b"\r\n" + body
        CASES["socket"] += 1
        t0 = time.monotonic()
        answers = exchange(emu, payload, timeout=REQUEST_TIMEOUT + 5)
        elapsed = time.monotonic() - t0
        assert answers, f"no answer to {payload[:200]!r}"
        # answered and closed at once, unless the bytes after a complete request start another one: that one
        # gets the request timeout (408)
        assert elapsed < 1.0 or (elapsed < REQUEST_TIMEOUT + 1.0 and answers[-1][0] == 408), elapsed
        for status, hdrs, raw in answers:
            check(status, hdrs, raw, head=payload.startswith(b"HEAD "))

    case()
    print(f"\nsocket fuzz: {CASES['socket']} cases")
    assert CASES["socket"] >= SOCKET_CASES * 0.9
    assert emu.process.poll() is None


@pytest.mark.parametrize(("payload", "status", "fragment"), [
    (b"GET /chat/threads HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431, "header"),
    (b"GET /chat/threads HTTP/1.1\r\n" + b"X: 1\r\n" * 101 + b"\r\n", 431, "Too many headers"),
    (b"GET /chat/threads HTTP/1.1\r\n" + (b"X: " + b"a" * 1000 + b"\r\n") * 80 + b"\r\n", 431, "header section"),
    (b"POST /identities HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400, "Content-Length"),
    (b"POST /identities HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}", 400, "both"),
    (b"POST /identities HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "gzip"),
    (b"POST /identities HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", 400, "chunked"),
    (b"POST /identities HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nabcde\r\n0\r\n\r\n", 400, "chunked"),
    (b"POST /identities HTTP/1.1\r\nContent-Length: +5\r\n\r\n{}   ", 400, "Content-Length"),
    (b"GET /chat/threads HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "Host"),
    (b"GET /chat/threads HTTP/1.1\r\nConnection: close\r\n folded\r\n\r\n", 400, "obs-fold"),
    (b"GET /chat/threads HTTP/1.1\r\nno colon here\r\nContent-Length: 5\r\n\r\n", 400, "Malformed header"),
    (b"GET /chat/threads HTTP/1.1\r\nHost : x\r\n\r\n", 400, "Malformed header"),     # space before the colon
    (b"GET /chat/threads HTTP/1.1\r\nX(y): 1\r\n\r\n", 400, "Malformed header"),     # not a token
    (b"GET /chat/threads HTTP/\xb2.1\r\n\r\n", 400, "Bad request version"),
])
def test_oversized_and_ambiguous_heads(emu: EmulatorProcess, payload: bytes, status: int, fragment: str) -> None:
    """Limits and framing rules, each answered with a JSON error and a closed connection (no hang: a negative
    chunk size used to read until the client gave up)."""
    t0 = time.monotonic()
    answers = exchange(emu, payload)
    assert time.monotonic() - t0 < 1.0
    assert len(answers) == 1
    got, hdrs, body = answers[0]
    check(got, hdrs, body)
    assert got == status and fragment in json.loads(body)["error"]["message"]
    assert hdrs.get("connection") == "close"


def test_keep_alive_pipelining_connection_tokens_and_expect(emu: EmulatorProcess, token: str) -> None:
    """The request parser keeps http.server's connection handling: pipelined requests are answered in order,
    `close` among the Connection tokens closes, HTTP/1.0 closes unless asked not to, 100-continue is honoured,
    and optional white space around a value is not part of it."""
    get = f"GET /chat/threads?{CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization:   Bearer {token}  \r\n"
    answers = exchange(emu, (get + "\r\n" + get + "Connection: keep-alive, close\r\n\r\n").encode())
    assert [a[0] for a in answers] == [200, 200] and answers[1][1]["connection"] == "close"
    answers = exchange(emu, get.replace("HTTP/1.1", "HTTP/1.0").encode() + b"\r\n")
    assert [a[0] for a in answers] == [200] and answers[0][1]["connection"] == "close"
    body = b'{"topic":"expect","participants":[]}'
    conn = Conn(emu)
    try:
        conn.send(f"POST /chat/threads?{CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n"
                  "Connection: close\r\n\r\n".encode())
        interim = conn.sock.recv(100)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n")
        conn.send(body)
        [(status, hdrs, raw)] = responses(conn.read_all())
        check(status, hdrs, raw)
        assert status == 201 and json.loads(raw)["chatThread"]["topic"] == "expect"
    finally:
        conn.close()


def _slowloris(emu: EmulatorProcess, token: str, results: list, idx: int) -> None:
    """Send a valid request one byte every 0.1 s, never finishing within the request timeout."""
    request = (f"GET /chat/threads?{CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
               "X-Slow: " + "s" * 200 + "\r\n\r\n").encode()
    conn = Conn(emu, timeout=REQUEST_TIMEOUT + 5)
    t0 = time.monotonic()
    try:
        for i in range(len(request)):
            try:
                conn.sock.sendall(request[i:i + 1])
            except (OSError, ssl.SSLError):
                break
            time.sleep(0.1)
            if time.monotonic() - t0 > REQUEST_TIMEOUT + 4:
                break
        results[idx] = (time.monotonic() - t0, conn.read_all())
    except OSError as exc:
        results[idx] = (time.monotonic() - t0, exc)
    finally:
        conn.close()


def _short_body(emu: EmulatorProcess, token: str, results: list, idx: int) -> None:
    """Announce 100 bytes of body, send 10, then wait."""
    conn = Conn(emu, timeout=REQUEST_TIMEOUT + 5)
    t0 = time.monotonic()
    try:
        conn.send(f"POST /chat/threads?{CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                  "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"topic\":".encode())
        results[idx] = (time.monotonic() - t0, conn.read_all())
    except OSError as exc:
        results[idx] = (time.monotonic() - t0, exc)
    finally:
        conn.close()


def _stalled_handshake(emu: EmulatorProcess, results: list, idx: int) -> None:
    """Open TCP, send half a TLS ClientHello, wait for the server to hang up."""
    parts = urlsplit(emu.endpoint)
    t0 = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=REQUEST_TIMEOUT + 5) as sock:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01")
        try:
            data = sock.recv(100)
        except OSError as exc:
            data = exc
        results[idx] = (time.monotonic() - t0, data)


def test_slow_clients_time_out_while_others_are_served(emu: EmulatorProcess, token: str) -> None:
    api = EmulatorApi(emu)
    proc = psutil.Process(emu.process.pid)
    threads_before = proc.num_threads()
    n_slow, n_short, n_tls = 12, 4, 4
    results: list = [None] * (n_slow + n_short + n_tls)
    workers = [threading.Thread(target=_slowloris, args=(emu, token, results, i)) for i in range(n_slow)]
    workers += [threading.Thread(target=_short_body, args=(emu, token, results, n_slow + i)) for i in range(n_short)]
    workers += [threading.Thread(target=_stalled_handshake, args=(emu, results, n_slow + n_short + i))
                for i in range(n_tls)]
    idle = Conn(emu)  # a keep-alive client that goes quiet: closed after the idle timeout, without an answer
    idle_since = time.monotonic()
    for w in workers:
        w.start()
    latencies = []
    t_end = time.monotonic() + REQUEST_TIMEOUT + 1
    while time.monotonic() < t_end:  # a normal client during the attack
        t0 = time.monotonic()
        resp = api.s.get(f"{emu.endpoint}/chat/threads?{CHAT}", headers={"Authorization": f"Bearer {token}"},
                         timeout=5)
        latencies.append(time.monotonic() - t0)
        assert resp.status_code == 200
    for w in workers:
        w.join(REQUEST_TIMEOUT + 10)
        assert not w.is_alive()
    assert max(latencies) < 1.0 and len(latencies) >= 10, latencies
    for elapsed, outcome in results[:n_slow + n_short]:
        assert elapsed < REQUEST_TIMEOUT + 2.5, elapsed
        [(status, hdrs, body)] = responses(outcome)
        check(status, hdrs, body)
        assert status == 408 and json.loads(body)["error"]["code"] == "RequestTimeout"
    for elapsed, outcome in results[n_slow + n_short:]:
        assert elapsed < REQUEST_TIMEOUT + 2.5 and not isinstance(outcome, socket.timeout), (elapsed, outcome)
    assert idle.read_all() == b""
    assert IDLE_TIMEOUT - 0.5 < time.monotonic() - idle_since < IDLE_TIMEOUT + 2.5
    idle.close()
    deadline = time.monotonic() + 5
    while proc.num_threads() > threads_before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.num_threads() <= threads_before  # every connection thread ended


def test_sdk_still_works_after_the_abuse(emu: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.communication.chat import ChatClient, CommunicationTokenCredential
    from azure.communication.identity import CommunicationIdentityClient

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle)
    identity = CommunicationIdentityClient.from_connection_string(emu.connection_string)
    _, token = identity.create_user_and_token(["chat"])
    chat = ChatClient(emu.endpoint, CommunicationTokenCredential(token.token))
    thread = chat.create_chat_thread("after the fuzz").chat_thread
    tc = chat.get_chat_thread_client(thread.id)
    mid = tc.send_message("still serving").id
    assert tc.get_message(mid).content.message == "still serving"
    url = f"{emu.endpoint}/chat/threads/{quote(thread.id, safe='')}?{CHAT}"
    resp = EmulatorApi(emu).s.get(url, headers={"Authorization": f"Bearer {token.token}"}, timeout=5)
    assert resp.status_code == 200 and resp.json()["topic"] == "after the fuzz"
