#!/usr/bin/env python3
"""Bounded soak of the emulator: mixed chat and identity operations from N client processes on loopback.

    .venv/bin/python scripts/soak.py --seconds 60 --clients 8 [--data-dir DIR] [--sends-only] [--json]

The emulator runs in its own process (in memory, or SQLite with --data-dir); each client is a separate process
with one keep-alive HTTPS connection (certificate verified) doing a weighted mix of operations: sending to its own
thread and to a thread shared by all clients, listing, reading, editing, read receipts, typing, thread and
participant listings, and now and then creating a thread or issuing a token. Afterwards every acknowledged
message must be listed in its thread. Prints requests served, errors, lost writes and the emulator's RSS before,
at peak and after; exit code 1 on any error or lost write.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from emulator_process import KeepAliveClient  # noqa: E402

CHAT = "api-version=2024-03-07"
IDV = "api-version=2023-10-01"
# operation -> weight
MIX = {"send_own": 30, "send_shared": 12, "list_messages": 10, "get_message": 10, "edit_message": 6,
       "read_receipt": 6, "typing": 6, "get_thread": 5, "list_threads": 4, "list_participants": 4,
       "list_receipts": 3, "create_thread": 2, "issue_token": 2}
EXPECTED = {"send_own": 201, "send_shared": 201, "edit_message": 204, "create_thread": 201}


# ----------------------------------------------------------------------------------------------- a client process

def run_client(cfg: dict) -> dict:
    """The load of one client until `cfg["until"]` (wall clock); returns counts, errors and acknowledged ids."""
    rng = random.Random(cfg["seed"])
    client = KeepAliveClient(cfg["endpoint"], cfg["ca"], cfg["access_key"])
    token, user, own, shared = cfg["token"], cfg["user"], cfg["own_thread"], cfg["shared_thread"]
    paths = {tid: "/chat/threads/" + quote(tid, safe="") for tid in (own, shared)}
    mix = cfg.get("mix") or MIX
    ops, weights = list(mix), list(mix.values())
    counts = dict.fromkeys(mix, 0)
    errors: list[str] = []
    acked: dict[str, list[str]] = {own: [], shared: []}
    latencies: list[float] = []
    while time.time() < cfg["start_at"]:
        time.sleep(0.005)
    i = 0
    while time.time() < cfg["until"]:
        i += 1
        op = rng.choices(ops, weights)[0]
        if op in ("get_message", "edit_message", "read_receipt") and not acked[own]:
            op = "send_own"
        tid = shared if op in ("send_shared", "read_receipt", "list_receipts", "typing") else own
        tp = paths[tid]
        t0 = time.perf_counter()
        try:
            if op in ("send_own", "send_shared"):
                status, data = client.call("POST", f"{tp}/messages?{CHAT}", token, {"content": f"{user[-8:]} {i}"})
                if status == 201:
                    acked[tid].append(json.loads(data)["id"])
            elif op == "list_messages":
                status, data = client.call("GET", f"{tp}/messages?maxPageSize=20&{CHAT}", token)
            elif op == "get_message":
                status, data = client.call("GET", f"{tp}/messages/{rng.choice(acked[own][-50:])}?{CHAT}", token)
            elif op == "edit_message":
                status, data = client.call("PATCH", f"{tp}/messages/{rng.choice(acked[own][-50:])}?{CHAT}", token,
                                           {"content": f"edited {i}", "metadata": {"n": str(i)}})
            elif op == "read_receipt":
                mid = acked[shared][-1] if acked[shared] else None
                if mid is None:
                    status, data = client.call("GET", f"{tp}?{CHAT}", token)
                else:
                    status, data = client.call("POST", f"{tp}/readReceipts?{CHAT}", token, {"chatMessageId": mid})
            elif op == "list_receipts":
                status, data = client.call("GET", f"{tp}/readReceipts?{CHAT}", token)
            elif op == "typing":
                status, data = client.call("POST", f"{tp}/typing?{CHAT}", token, {"senderDisplayName": "soak"})
            elif op == "get_thread":
                status, data = client.call("GET", f"{tp}?{CHAT}", token)
            elif op == "list_threads":
                status, data = client.call("GET", f"/chat/threads?maxPageSize=20&{CHAT}", token)
            elif op == "list_participants":
                status, data = client.call("GET", f"{paths[shared]}/participants?{CHAT}", token)
            elif op == "create_thread":
                status, data = client.call("POST", f"/chat/threads?{CHAT}", token, {"topic": f"soak {i}",
                                                                                     "participants": []})
            else:  # issue_token
                status, data = client.call("POST", f"/identities/{quote(user, safe='')}/:issueAccessToken?{IDV}",
                                           None, {"scopes": ["chat"], "expiresInMinutes": 60})
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{op}: {exc!r}")
            client.close()
            client = KeepAliveClient(cfg["endpoint"], cfg["ca"], cfg["access_key"])
            continue
        latencies.append(time.perf_counter() - t0)
        counts[op] += 1
        if status != EXPECTED.get(op, 200):
            errors.append(f"{op}: {status} {data[:200]!r}")
    client.close()
    latencies.sort()
    return {"counts": counts, "errors": errors, "acked": acked,
            "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
            "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None}


# ----------------------------------------------------------------------------------------------- the driver

def _list_ids(client: KeepAliveClient, token: str, tid: str) -> set[str]:
    url: str | None = f"/chat/threads/{quote(tid, safe='')}/messages?maxPageSize=200&{CHAT}"
    ids: set[str] = set()
    while url:
        status, data = client.call("GET", url, token)
        if status != 200:
            raise RuntimeError(f"listing {tid} answered {status}: {data[:200]!r}")
        body = json.loads(data)
        ids |= {m["id"] for m in body["value"]}
        nxt = body.get("nextLink")
        url = nxt[len(client.endpoint):] if nxt else None
    return ids


def soak(seconds: float = 60.0, clients: int = 8, data_dir: str | None = None, log: Callable[[str], object] = print,
         sends_only: bool = False) -> dict:
    """Run one soak against a fresh emulator process and return the figures (`sends_only`: every operation is a
    message send to the client's own thread, to measure write throughput)."""
    import psutil
    from emulator_process import running_emulator

    with tempfile.TemporaryDirectory(prefix="acs-emu-soak-") as tmp:
        env = {"AZURE_COMMUNICATION_EMULATOR_HOME": str(Path(tmp) / "home")}
        with running_emulator(data_dir=data_dir, env=env) as emu:
            proc = psutil.Process(emu.process.pid)
            ca = str(Path(emu.ca_bundle).with_name("ca.pem"))
            setup = KeepAliveClient(emu.endpoint, ca, emu.access_key)
            users = []
            for _ in range(clients):
                status, data = setup.call("POST", f"/identities?{IDV}", None, {"createTokenWithScopes": ["chat"]})
                body = json.loads(data)
                users.append((body["identity"]["id"], body["accessToken"]["token"]))
            parts = [{"communicationIdentifier": {"rawId": u}} for u, _ in users[1:]]
            status, data = setup.call("POST", f"/chat/threads?{CHAT}", users[0][1], {"topic": "shared",
                                                                                     "participants": parts})
            shared = json.loads(data)["chatThread"]["id"]
            owns = []
            for _, token in users:
                status, data = setup.call("POST", f"/chat/threads?{CHAT}", token, {"topic": "own", "participants": []})
                owns.append(json.loads(data)["chatThread"]["id"])
            rss_before = proc.memory_info().rss
            cpu_before = sum(proc.cpu_times()[:2])
            start_at = time.time() + 1.5  # every client process is up before the clock starts
            workers = []
            for n, ((user, token), own) in enumerate(zip(users, owns, strict=True)):
                cfg = {"endpoint": emu.endpoint, "ca": ca, "access_key": emu.access_key, "token": token,
                       "user": user, "own_thread": own, "shared_thread": shared, "seed": n,
                       "start_at": start_at, "until": start_at + seconds,
                       "mix": {"send_own": 1} if sends_only else None}
                workers.append(subprocess.Popen(
                    [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(cfg)],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, cwd=str(ROOT),
                    env=dict(os.environ, PYTHONPATH=str(ROOT))))
            peak = rss_before
            stop = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not stop.wait(0.25):
                    peak = max(peak, proc.memory_info().rss)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            results = []
            try:
                for w in workers:
                    out, _ = w.communicate(timeout=seconds + 120)
                    if w.returncode != 0:
                        raise RuntimeError(f"client process failed with {w.returncode}")
                    results.append(json.loads(out))
            finally:
                stop.set()
                sampler.join(2)
                for w in workers:
                    if w.poll() is None:
                        w.kill()
                        w.wait()
            rss_after = proc.memory_info().rss
            cpu_used = sum(proc.cpu_times()[:2]) - cpu_before
            peak = max(peak, rss_after)
            acked: dict[str, set[str]] = {}
            for r in results:
                for tid, ids in r["acked"].items():
                    acked.setdefault(tid, set()).update(ids)
            lost = 0
            for tid, ids in acked.items():
                lost += len(ids - _list_ids(setup, users[0][1] if tid == shared else
                                            users[owns.index(tid)][1], tid))
            setup.close()
            alive = emu.process.poll() is None
            stderr_tail = emu.stderr_text()[-2000:]
    counts: dict[str, int] = {}
    for r in results:
        for op, n in r["counts"].items():
            counts[op] = counts.get(op, 0) + n
    errors = [e for r in results for e in r["errors"]]
    served = sum(counts.values())
    figures = {
        "seconds": seconds, "clients": clients, "mode": "sqlite" if data_dir else "memory",
        "mix": "sends only" if sends_only else "mixed",
        "requests": served, "requests_per_second": round(served / seconds, 1), "operations": counts,
        "errors": len(errors), "error_samples": errors[:5],
        "acknowledged_messages": sum(len(v) for v in acked.values()), "lost_writes": lost,
        "rss_before_mb": round(rss_before / 2**20, 1), "rss_peak_mb": round(peak / 2**20, 1),
        "rss_after_mb": round(rss_after / 2**20, 1),
        "emulator_cpu_seconds": round(cpu_used, 2),
        "emulator_cpu_ms_per_request": round(1000 * cpu_used / served, 3) if served else None,
        "p50_ms_worst_client": max(r["p50_ms"] or 0 for r in results),
        "p99_ms_worst_client": max(r["p99_ms"] or 0 for r in results),
        "emulator_alive": alive, "traceback_in_log": "Traceback" in stderr_tail,
    }
    log(f"soak {seconds:g}s, {clients} client processes, {figures['mode']}, {figures['mix']}: {served} requests "
        f"({figures['requests_per_second']}/s), {len(errors)} errors, {figures['acknowledged_messages']} "
        f"acknowledged messages, {lost} lost; emulator RSS {figures['rss_before_mb']} MB before, "
        f"{figures['rss_peak_mb']} MB peak, {figures['rss_after_mb']} MB after")
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--data-dir", default=None, help="persistent mode (SQLite) in this folder")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON line too")
    p.add_argument("--sends-only", action="store_true", help="only message sends (write throughput)")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:  # a client process: JSON config as the argument, result on stdout
        print(json.dumps(run_client(json.loads(args.worker))))
        return 0
    figures = soak(args.seconds, args.clients, args.data_dir, sends_only=args.sends_only)
    if args.json:
        print(json.dumps(figures))
    ok = figures["errors"] == 0 and figures["lost_writes"] == 0 and figures["emulator_alive"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
