"""Load generation over keep-alive HTTPS, one process per client (so client CPU is not the server's GIL).

Used twice: to seed the 10,000-message thread quickly and to measure message sends per second with 1, 4 and
8 concurrent clients. Each client holds one `http.client.HTTPSConnection` that trusts the server's CA file.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from common import percentile

API_VERSION = "2024-03-07"
START_DELAY = 1.5  # seconds for every client to fork, connect and warm up before the clock starts


def message_path(thread_id: str) -> str:
    """The send-message path exactly as the chat SDK builds it (thread id percent-encoded)."""
    return f"/chat/threads/{quote(thread_id, safe='')}/messages?api-version={API_VERSION}"


def _connect(endpoint: str, ca_file: str) -> http.client.HTTPSConnection:
    parts = urlsplit(endpoint)
    context = ssl.create_default_context(cafile=ca_file)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, context=context, timeout=30)
    conn.connect()
    return conn


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}


def _post(conn: http.client.HTTPSConnection, path: str, body: bytes, headers: dict[str, str]) -> int:
    conn.request("POST", path, body=body, headers=headers)
    resp = conn.getresponse()
    resp.read()
    return resp.status


def _timed_client(endpoint: str, ca_file: str, token: str, path: str, start_at: float,
                  stop_at: float) -> tuple[int, int, list[float], float]:
    """Send as fast as one connection allows between start_at and stop_at.

    Returns ok, errors, latencies and the seconds this client was actually sending (a client that got ready
    late on a busy machine sends for less than the full window; its rate must not be diluted).
    """
    conn = _connect(endpoint, ca_file)
    headers = _headers(token)
    body = json.dumps({"content": "load test message", "type": "text"}).encode()
    _post(conn, path, body, headers)  # warm-up: TLS session and first-request costs stay out of the figures
    time.sleep(max(0.0, start_at - time.time()))
    began = time.time()
    latencies: list[float] = []
    ok = errors = 0
    clock = time.perf_counter
    while time.time() < stop_at:
        t0 = clock()
        status = _post(conn, path, body, headers)
        latencies.append(clock() - t0)
        if status == 201:
            ok += 1
        else:
            errors += 1
    active = time.time() - began
    conn.close()
    return ok, errors, latencies, active


@dataclass
class LoadResult:
    """Throughput and latency of one concurrency level."""

    clients: int
    per_second: float
    ok: int
    errors: int
    latencies: list[float] = field(repr=False)

    @classmethod
    def combine(cls, parts: list[LoadResult]) -> LoadResult:
        """Slices of equal length measured at different times: mean rate, all latencies."""
        return cls(parts[0].clients, sum(p.per_second for p in parts) / len(parts), sum(p.ok for p in parts),
                   sum(p.errors for p in parts), [x for p in parts for x in p.latencies])

    @property
    def p50_ms(self) -> float:
        return percentile(sorted(self.latencies), 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(sorted(self.latencies), 99) * 1000


def measure_sends(endpoint: str, ca_file: str, token: str, thread_id: str, clients: int,
                  duration: float) -> LoadResult:
    """Run `clients` processes sending messages for `duration` seconds; all start on the same clock tick."""
    ctx = multiprocessing.get_context("fork")
    start_at = time.time() + START_DELAY
    path = message_path(thread_id)
    with ctx.Pool(clients) as pool:
        results = pool.starmap(_timed_client, [(endpoint, ca_file, token, path, start_at, start_at + duration)]
                               * clients)
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    latencies = [x for r in results for x in r[2]]
    rate = sum(r[0] / r[3] for r in results if r[3] > 0)
    return LoadResult(clients, rate, ok, errors, latencies)


def _seed_client(endpoint: str, ca_file: str, token: str, path: str, first: int, count: int) -> int:
    """Send `count` numbered messages over one connection; return how many were refused."""
    conn = _connect(endpoint, ca_file)
    headers = _headers(token)
    failed = 0
    for i in range(first, first + count):
        body = json.dumps({"content": f"Build {i:05d} passed on runner-{i % 7}: all checks green",
                           "senderDisplayName": "CI", "type": "text"}).encode()
        if _post(conn, path, body, headers) != 201:
            failed += 1
    conn.close()
    return failed


def seed_messages(endpoint: str, ca_file: str, token: str, thread_id: str, count: int, clients: int = 4) -> None:
    """Add `count` messages to a thread with several keep-alive connections at once (seconds, not minutes)."""
    ctx = multiprocessing.get_context("fork")
    path = message_path(thread_id)
    share = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    firsts = [sum(share[:i]) for i in range(clients)]
    with ctx.Pool(clients) as pool:
        jobs = [(endpoint, ca_file, token, path, f, n) for f, n in zip(firsts, share, strict=True)]
        failed = pool.starmap(_seed_client, jobs)
    if sum(failed):
        raise RuntimeError(f"{sum(failed)} of {count} seed messages were refused")
