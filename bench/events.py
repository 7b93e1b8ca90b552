"""Chat events under load: events/s to one local webhook while 8 clients send, send-201 -> webhook latency, and
message sends/s with events on vs off, measured in the same run (slices alternate: off, on, on paced).

    .venv/bin/python bench/events.py [--duration 6] [--clients 8] [--others 0] [--rate 1000]
    .venv/bin/python bench/events.py --drain      # the delivery side alone: events/s and CPU per event

Each client has its own thread, by default with no other participant, so one send = one event
(ChatMessageReceivedInThread; `--others N` adds N participants, and so N user-level ChatMessageReceived copies per
send). The latency is that of the thread-level event. "Off" is an emulator without subscriptions; "on" is one
started with `--event-webhook` pointing at a receiver process (asyncio, cheap on a 2-core machine) on 127.0.0.1.

Two loads. Flat out (every client sends as fast as its connection allows) gives events/s and the on/off ratio.
The latency budget is taken at a steady `--rate` (1,000 sends/s in all, the event rate the throughput budget
asks for, on a fixed schedule): a latency taken flat out measures the backlog of whichever of the emulator and
the deliverer is slower on the shared cores, so it is reported too, without a budget (bench/FINDINGS.md, E5).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import re
import socket
import ssl
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import PYTHON, WORK, JsonServer, percentile, start_json_server

API = "api-version=2024-03-07"
IDENTITY = "api-version=2023-10-01"
BUDGET_EVENTS_PER_S = 1000.0
BUDGET_P99_MS = 50.0
BUDGET_ON_OFF = 0.7
PACED_RATE = 1000.0  # sends/s in all for the latency measure: the event rate the throughput budget asks for
START_DELAY = 1.5


# ------------------------------------------------------------------------------------------- the webhook
def _receiver(port_out: multiprocessing.Queue, stop: multiprocessing.Event, out_file: str) -> None:
    """Webhook process (asyncio, so that it costs the 2-core machine little): answers the handshake, records
    (threadId, messageId, time received) per event."""
    import asyncio

    seen: list[tuple[str, str, float]] = []

    thread_re = re.compile(rb'"threadId":"([^"]+)"')
    message_re = re.compile(rb'"messageId":"([^"]+)"')

    class Hook(asyncio.Protocol):
        """Just enough HTTP/1.1 for keep-alive POSTs with Content-Length (what the emulator sends)."""

        def connection_made(self, transport: asyncio.Transport) -> None:
            self.transport, self.buf = transport, b""

        def data_received(self, data: bytes) -> None:
            self.buf += data
            while True:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buf[:end].lower()
                at = head.find(b"content-length:")
                length = int(head[at + 15:head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None]) \
                    if at >= 0 else 0
                if len(self.buf) < end + 4 + length:
                    return
                body, self.buf = self.buf[end + 4:end + 4 + length], self.buf[end + 4 + length:]
                now = time.time()
                reply = b""
                if b"aeg-event-type: subscriptionvalidation" in head:
                    code = json.loads(body)[0]["data"]["validationCode"]
                    reply = json.dumps({"validationResponse": code}).encode()
                elif body:
                    tid, mid = thread_re.search(body), message_re.search(body)
                    in_thread = b"InThread" in body[:2000] and b"recipientCommunicationIdentifier" not in body
                    seen.append((tid.group(1).decode() if tid else "",
                                 mid.group(1).decode() if mid and in_thread else "", now))
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(reply) + reply)

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(Hook, "127.0.0.1", 0)
        port_out.put(server.sockets[0].getsockname()[1])
        while not stop.is_set():
            await asyncio.sleep(0.1)
        server.close()

    asyncio.run(serve())
    Path(out_file).write_text(json.dumps(seen))


# ------------------------------------------------------------------------------------------- the senders
def _connect(endpoint: str, ca_file: str) -> http.client.HTTPSConnection:
    parts = urlsplit(endpoint)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=30,
                                       context=ssl.create_default_context(cafile=ca_file))
    conn.connect()
    return conn


def _call(conn: http.client.HTTPSConnection, method: str, path: str, headers: dict, body: object) -> tuple[int, dict]:
    conn.request(method, path, body=json.dumps(body).encode(), headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, json.loads(data) if data else {}


def ca_file(emu: JsonServer) -> str:
    """The emulator's CA alone (its bundle's sibling)."""
    return str(Path(emu.ca_bundle).with_name("ca.pem"))


def new_user(conn: http.client.HTTPSConnection, emu: JsonServer) -> tuple[str, str]:
    """A new user and its chat token (raw id, token), from the identity API signed with the emulator's key."""
    from azext_communication.emulator.tokens import sign_request

    key = dict(p.split("=", 1) for p in emu.info["connectionString"].split(";") if "=" in p)["accesskey"]
    raw = json.dumps({"createTokenWithScopes": ["chat"]}).encode()
    path = f"/identities?{IDENTITY}"
    conn.request("POST", path, body=raw, headers=sign_request("POST", emu.endpoint + path, raw, key))
    body = json.loads(conn.getresponse().read())
    return body["identity"]["id"], body["accessToken"]["token"]


class _Sender:
    """One keep-alive HTTPS connection that sends one pre-encoded request over and over and reads just the
    status and the body. The load generator shares the 2 cores with what it measures: http.client with JSON
    costs about 500 us of CPU per send here, more than the emulator's own work; this about a fifth of it."""

    _LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")

    def __init__(self, endpoint: str, ca_file: str, request: bytes) -> None:
        parts = urlsplit(endpoint)
        raw = socket.create_connection((parts.hostname, parts.port), timeout=30)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = ssl.create_default_context(cafile=ca_file).wrap_socket(raw, server_hostname=parts.hostname)
        self.request = request
        self.buf = b""

    def send(self) -> tuple[int, bytes]:
        self.sock.sendall(self.request)
        buf = self.buf
        while (end := buf.find(b"\r\n\r\n")) < 0:
            buf += self.sock.recv(65536)
        m = self._LENGTH.search(buf, 0, end + 2)
        length = int(m.group(1)) if m else 0
        while len(buf) < end + 4 + length:
            buf += self.sock.recv(65536)
        self.buf = buf[end + 4 + length:]
        return int(buf[9:12]), buf[end + 4:end + 4 + length]

    def close(self) -> None:
        self.sock.close()


_MESSAGE_ID = re.compile(rb'"id":\s*"([^"]+)"')


def _sender(endpoint: str, ca_file: str, token: str, tid: str, start_at: float, stop_at: float,
            rate: float = 0.0) -> tuple[int, float, list[tuple[str, float]]]:
    """Send as fast as one keep-alive connection allows, or `rate` sends/s on a fixed schedule (a late send does
    not move the next one); returns ok, seconds active and (message id, t_201)."""
    parts = urlsplit(endpoint)
    body = json.dumps({"content": "event load", "type": "text"}).encode()
    request = (f"POST /chat/threads/{quote(tid, safe='')}/messages?{API} HTTP/1.1\r\n"
               f"Host: {parts.hostname}:{parts.port}\r\nAuthorization: Bearer {token}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    conn = _Sender(endpoint, ca_file, request)
    conn.send()  # warm-up
    time.sleep(max(0.0, start_at - time.time()))
    began = time.time()
    sent: list[tuple[str, float]] = []
    n = 0
    while time.time() < stop_at:
        if rate:
            n += 1
            time.sleep(max(0.0, began + n / rate - time.time()))
        status, out = conn.send()
        if status == 201:
            sent.append((_MESSAGE_ID.search(out).group(1).decode(), time.time()))
    conn.close()
    return len(sent), time.time() - began, sent


def _setup(emu: JsonServer, clients: int, others: int = 0) -> list[tuple[str, str]]:
    """One user and one thread per client, with `others` more participants: (token, thread id)."""
    conn = _connect(emu.endpoint, ca_file(emu))
    out = []

    for _ in range(clients):
        _, token = new_user(conn, emu)
        more = [{"communicationIdentifier": {"rawId": new_user(conn, emu)[0]}} for _ in range(others)]
        status, t = _call(conn, "POST", f"/chat/threads?{API}", {"Authorization": f"Bearer {token}",
                                                                  "Content-Type": "application/json"},
                          {"topic": "events bench", "participants": more})
        out.append((token, t["chatThread"]["id"]))
    conn.close()
    return out


def measure(emu: JsonServer, setup: list[tuple[str, str]], duration: float, rate: float = 0.0) -> dict:
    """Every client sends for `duration` seconds, flat out or `rate` sends/s in all (spread evenly)."""
    ctx = multiprocessing.get_context("fork")
    start_at = time.time() + START_DELAY
    ca = ca_file(emu)
    with ctx.Pool(len(setup)) as pool:
        results = pool.starmap(_sender, [(emu.endpoint, ca, token, tid, start_at, start_at + duration,
                                          rate / len(setup)) for token, tid in setup])
    per_second = sum(ok / active for ok, active, _ in results if active > 0)
    sent = {(tid, mid): t for (_, tid), (_, _, s) in zip(setup, results, strict=True) for mid, t in s}
    return {"per_second": per_second, "sent": sent, "start": start_at, "stop": start_at + duration}


def run(duration: float = 6.0, clients: int = 8, slices: int = 2, others: int = 0, rate: float = PACED_RATE
        ) -> list[tuple[str, str, str, str, str, str]]:
    """Rows for bench/run.py's table: (measure, ours, baseline, ratio, budget, result)."""
    WORK.mkdir(parents=True, exist_ok=True)
    ctx = multiprocessing.get_context("fork")
    port_q, stop = ctx.Queue(), ctx.Event()
    seen_file = WORK / "events-seen.json"
    receiver = ctx.Process(target=_receiver, args=(port_q, stop, str(seen_file)), daemon=True)
    receiver.start()
    hook = f"http://127.0.0.1:{port_q.get(timeout=10)}/api/events"
    args = [PYTHON, "-m", "azext_communication.emulator", "--port", "0", "--json", "--log-level", "WARNING"]
    off = start_json_server(args, stderr_path=WORK / "events-off.log")
    on = start_json_server([*args, "--event-webhook", hook], stderr_path=WORK / "events-on.log")
    try:
        setup_off, setup_on = _setup(off, clients, others), _setup(on, clients, others)
        offs, ons, paced = [], [], []
        for _ in range(slices):
            offs.append(measure(off, setup_off, duration / slices))
            ons.append(measure(on, setup_on, duration / slices))
            paced.append(measure(on, setup_on, duration / slices, rate))
        time.sleep(1.0)  # let the last deliveries land
    finally:
        off.stop()
        on.stop()
        stop.set()
        receiver.join(15)
    seen = json.loads(seen_file.read_text())
    received = {(tid, mid): t for tid, mid, t in seen if mid}
    assert received, "no event reached the webhook"

    def latencies(runs: list[dict]) -> tuple[list[float], int]:
        lat = sorted((received[k] - t) * 1000 for r in runs for k, t in r["sent"].items() if k in received)
        return lat, sum(1 for r in runs for k in r["sent"] if k not in received)

    lat, missing = latencies(ons)
    paced_lat, paced_missing = latencies(paced)
    in_window = sum(1 for r in ons for _, _, t in seen if r["start"] <= t <= r["stop"])
    ev_rate = in_window / sum(r["stop"] - r["start"] for r in ons)
    off_rate = sum(r["per_second"] for r in offs) / len(offs)
    on_rate = sum(r["per_second"] for r in ons) / len(ons)
    paced_rate = sum(r["per_second"] for r in paced) / len(paced)
    note = f" ({missing} sends without an event)" if missing else ""
    paced_note = f" ({paced_missing} sends without an event)" if paced_missing else ""

    def verdict(ok: bool, lost: int = missing) -> str:
        return "PASS" if ok and not lost else "FAIL"

    p99 = percentile(paced_lat, 99)
    return [
        (f"7. events/s to one webhook, {clients} senders flat out", f"{ev_rate:.0f}/s{note}",
         f"sends/s {on_rate:.0f}", f"{ev_rate / on_rate:.2f}x", f">= {BUDGET_EVENTS_PER_S:.0f}/s",
         verdict(ev_rate >= BUDGET_EVENTS_PER_S)),
        (f"7. send 201 -> webhook received (p50 / p99), {clients} senders at {rate:.0f} sends/s",
         f"{percentile(paced_lat, 50):.1f} / {p99:.1f} ms{paced_note}",
         f"{len(paced_lat)} events, {paced_rate:.0f} sends/s", "", f"p99 <= {BUDGET_P99_MS:.0f} ms",
         verdict(p99 <= BUDGET_P99_MS and paced_rate >= 0.95 * rate, paced_missing)),
        (f"7. send 201 -> webhook received (p50 / p99), {clients} senders flat out",
         f"{percentile(lat, 50):.1f} / {percentile(lat, 99):.1f} ms", f"{len(lat)} events", "", "", ""),
        (f"7. sends/s with events on, {clients} clients", f"{on_rate:.0f}/s", f"events off {off_rate:.0f}/s",
         f"{on_rate / off_rate:.2f}x", f">= {BUDGET_ON_OFF:.2f}x", verdict(on_rate >= BUDGET_ON_OFF * off_rate)),
    ]


def drain(count: int = 10_000, lanes: int = 8) -> dict:
    """The delivery side alone: `count` facts recorded at once (as `lanes` chat threads), one subscription in its
    delivery process, the asyncio webhook; the time to deliver them all and the CPU each process spent per event
    (the emulator's share is recording and handing facts over)."""
    import psutil

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from event_facts import record

    from azext_communication.emulator.events import EventService, Outbox
    from azext_communication.emulator.store import MemoryStore

    ctx = multiprocessing.get_context("fork")
    port_q, stop = ctx.Queue(), ctx.Event()
    receiver = ctx.Process(target=_receiver, args=(port_q, stop, str(WORK / "events-drain.json")), daemon=True)
    WORK.mkdir(parents=True, exist_ok=True)
    receiver.start()
    url = f"http://127.0.0.1:{port_q.get(timeout=10)}/api/events"
    store = MemoryStore()
    svc = EventService(store, Outbox(store), "/subscriptions/x", separate_process=True).start()
    try:
        svc.create({"name": "drain", "endpoint": url,
                    "filter": {"includedEventTypes": ["ChatMessageReceivedInThread"]}})
        procs = {"delivery process": psutil.Process(svc.link.proc.pid), "webhook": psutil.Process(receiver.pid),
                 "emulator side": psutil.Process()}
        time.sleep(1.0)
        before = {k: p.cpu_times() for k, p in procs.items()}
        threads = [f"19:{i:032x}@thread.v2" for i in range(lanes)]
        started = time.perf_counter()
        for i in range(count):
            record(svc.outbox, "message.sent", tid=threads[i % lanes], tag=str(i))
        done = svc.wait_idle(300)
        elapsed = time.perf_counter() - started
        after = {k: p.cpu_times() for k, p in procs.items()}
    finally:
        svc.stop()
        stop.set()
        receiver.join(15)
    cpu = {k: (after[k].user + after[k].system - before[k].user - before[k].system) / count * 1e6 for k in procs}
    return {"events_per_second": count / elapsed, "complete": done, "cpu_us_per_event": cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=6.0, help="seconds of sending per emulator")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--others", type=int, default=0, help="participants besides the sender in each thread")
    parser.add_argument("--rate", type=float, default=PACED_RATE, help="sends/s in all for the latency measure")
    parser.add_argument("--drain", action="store_true", help="measure the delivery side alone (see drain())")
    args = parser.parse_args()
    if args.drain:
        out = drain()
        cpu = ", ".join(f"{k} {v:.0f} us" for k, v in out["cpu_us_per_event"].items())
        print(f"drain: {out['events_per_second']:.0f} events/s (all delivered: {out['complete']}); "
              f"CPU per event: {cpu}")
        return 0
    rows = run(args.duration, args.clients, others=args.others, rate=args.rate)
    print("| measure | ours | baseline | ratio | budget | result |\n|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
