#!/usr/bin/env python3
"""kill -9 an emulator with a data folder in the middle of write bursts, several rounds, and check that every
acknowledged write survived: messages (201), created threads (201), created identities (201) and message edits
(204: the last acknowledged version, or the one after it if it was committed but not yet answered); sequence ids
stay contiguous. After each kill the database must pass
`PRAGMA integrity_check` before the emulator reopens it.

    .venv/bin/python scripts/crash_rounds.py --rounds 5 [--writers 6] [--min-acked 300]

Prints one line per round and a JSON summary; exit code 1 if anything acknowledged is missing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from emulator_process import EmulatorProcess, KeepAliveClient, start_emulator  # noqa: E402

CHAT = "api-version=2024-03-07"
IDV = "api-version=2023-10-01"


@dataclass
class Acked:
    """What the emulator acknowledged, across all rounds."""

    messages: dict[str, set[str]] = field(default_factory=dict)  # thread id -> message ids
    threads: set[str] = field(default_factory=set)
    identities: set[str] = field(default_factory=set)
    edits: dict[tuple[str, str], int] = field(default_factory=dict)  # (thread, message) -> last acked version
    edit_ops: int = 0  # acknowledged PATCHes
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return (sum(len(v) for v in self.messages.values()) + len(self.threads) + len(self.identities)
                    + self.edit_ops)


def _writer(emu: EmulatorProcess, kind: str, token: str, tid: str, acked: Acked, stop: threading.Event,
            failures: list) -> None:
    """Write until the emulator dies (a connection error is expected then); record what was acknowledged."""
    client = KeepAliveClient.to(emu)
    tpath = f"/chat/threads/{quote(tid, safe='')}"
    try:
        if kind == "edits":
            status, data = client.call("POST", f"{tpath}/messages?{CHAT}", token, {"content": "v0"})
            if status != 201:
                failures.append((kind, status, data[:200]))
                return
            mid = json.loads(data)["id"]
            with acked.lock:
                acked.messages.setdefault(tid, set()).add(mid)
                acked.edits[(tid, mid)] = 0
        i = 0
        while not stop.is_set():
            i += 1
            if kind == "messages":
                status, data = client.call("POST", f"{tpath}/messages?{CHAT}", token, {"content": f"m{i}"})
                ok = status == 201
                if ok:
                    with acked.lock:
                        acked.messages.setdefault(tid, set()).add(json.loads(data)["id"])
            elif kind == "threads":
                status, data = client.call("POST", f"/chat/threads?{CHAT}", token, {"topic": f"t{i}",
                                                                                      "participants": []})
                ok = status == 201
                if ok:
                    with acked.lock:
                        acked.threads.add(json.loads(data)["chatThread"]["id"])
            elif kind == "identities":
                status, data = client.call("POST", f"/identities?{IDV}", None)
                ok = status == 201
                if ok:
                    with acked.lock:
                        acked.identities.add(json.loads(data)["identity"]["id"])
            else:
                status, data = client.call("PATCH", f"{tpath}/messages/{mid}?{CHAT}", token, {"content": f"v{i}"})
                ok = status == 204
                if ok:
                    with acked.lock:
                        acked.edits[(tid, mid)] = i
                        acked.edit_ops += 1
            if not ok:
                failures.append((kind, status, data[:200]))
                return
    except (OSError, http.client.HTTPException):
        pass  # the kill
    finally:
        client.close()


def integrity(db: Path) -> tuple[str, int]:
    """`PRAGMA integrity_check` and the number of records, opening the file as a fresh process would."""
    conn = sqlite3.connect(str(db))
    try:
        check = conn.execute("PRAGMA integrity_check").fetchall()
        records = conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    finally:
        conn.close()
    return ",".join(r[0] for r in check), records


def verify(emu: EmulatorProcess, token: str, acked: Acked) -> dict:
    """Everything acknowledged so far is there after the restart; returns the recovered counts."""
    client = KeepAliveClient.to(emu)
    missing: list[str] = []
    recovered = {"messages": 0, "threads": 0, "identities": 0, "edited messages": 0}
    try:
        for tid, mids in acked.messages.items():
            url = f"/chat/threads/{quote(tid, safe='')}/messages?maxPageSize=200&{CHAT}"
            listed: dict[str, str] = {}
            seqs: list[int] = []
            while url:
                status, data = client.call("GET", url, token)
                assert status == 200, data
                body = json.loads(data)
                listed.update({m["id"]: m["content"].get("message", "") for m in body["value"]})
                seqs += [int(m["sequenceId"]) for m in body["value"]]
                nxt = body.get("nextLink")
                url = nxt[len(emu.endpoint):] if nxt else None
            if sorted(seqs) != list(range(1, len(seqs) + 1)):  # no gap, no duplicate after the crashes
                missing.append(f"thread {tid}: sequence ids are not 1..{len(seqs)}")
            missing += [f"message {tid}/{m}" for m in mids - set(listed)]
            recovered["messages"] += len(mids & set(listed))
            for (etid, mid), version in acked.edits.items():
                if etid == tid and mid in listed:
                    if listed[mid] in (f"v{version}", f"v{version + 1}"):  # acked, or committed but unacked
                        recovered["edited messages"] += 1
                    else:
                        missing.append(f"edit {mid}: v{version} acked, found {listed[mid]!r}")
        url = f"/chat/threads?maxPageSize=200&{CHAT}"
        listed_threads: set[str] = set()
        while url:
            status, data = client.call("GET", url, token)
            body = json.loads(data)
            listed_threads |= {t["id"] for t in body["value"]}
            nxt = body.get("nextLink")
            url = nxt[len(emu.endpoint):] if nxt else None
        missing += [f"thread {t}" for t in acked.threads - listed_threads]
        recovered["threads"] = len(acked.threads & listed_threads)
        for uid in acked.identities:
            status, _ = client.call("GET", f"/identities/{quote(uid, safe='')}?{IDV}", None)
            if status == 200:
                recovered["identities"] += 1
            else:
                missing.append(f"identity {uid} ({status})")
    finally:
        client.close()
    if missing:
        raise AssertionError(f"{len(missing)} acknowledged writes lost: {missing[:10]}")
    return recovered


def run_rounds(data_dir: Path, rounds: int = 3, writers: int = 6, min_acked: int = 200, max_seconds: float = 10.0,
               env: dict | None = None, log: Callable[[str], object] = print) -> dict:
    """The whole experiment; returns the figures (raises AssertionError on a lost write or a damaged file)."""
    kinds = ["messages", "messages", "threads", "identities", "edits", "edits"]
    acked = Acked()
    figures: dict = {"rounds": [], "writers": writers}
    token = tid = None
    for rnd in range(1, rounds + 1):
        emu = start_emulator(data_dir=data_dir, env=env)
        try:
            if token is None:
                client = KeepAliveClient.to(emu)
                status, data = client.call("POST", f"/identities?{IDV}", None, {"createTokenWithScopes": ["chat"]})
                token = json.loads(data)["accessToken"]["token"]
                status, data = client.call("POST", f"/chat/threads?{CHAT}", token, {"topic": "crash",
                                                                                   "participants": []})
                tid = json.loads(data)["chatThread"]["id"]
                client.close()
            else:
                recovered = verify(emu, token, acked)
                figures["rounds"][-1]["recovered"] = recovered
                log(f"round {rnd - 1}: recovered {recovered}")
            before = acked.count()
            stop = threading.Event()
            failures: list = []
            pool = [threading.Thread(target=_writer, args=(emu, kinds[i % len(kinds)], token, tid, acked, stop,
                                                           failures)) for i in range(writers)]
            for t in pool:
                t.start()
            deadline = time.monotonic() + max_seconds
            while acked.count() - before < min_acked and time.monotonic() < deadline and not failures:
                time.sleep(0.01)
            emu.process.send_signal(signal.SIGKILL)  # in the middle of the burst
            emu.process.wait(10)
            stop.set()
            for t in pool:
                t.join(30)
            if failures:
                raise AssertionError(f"writes refused before the kill: {failures[:5]}")
        finally:
            emu.stop()
        check, records = integrity(data_dir / "emulator.db")
        if check != "ok":
            raise AssertionError(f"round {rnd}: integrity_check says {check}")
        with acked.lock:
            totals = {"messages": sum(len(v) for v in acked.messages.values()), "threads": len(acked.threads),
                      "identities": len(acked.identities), "edited messages": len(acked.edits)}
            edit_ops = acked.edit_ops
        figures["rounds"].append({"round": rnd, "acked_this_round": acked.count() - before, "acked_total": totals,
                                  "acked_edits_total": edit_ops, "integrity_check": check, "records": records})
        log(f"round {rnd}: killed after {acked.count() - before} acknowledged writes; integrity_check={check}; "
            f"{records} records on disk")
    emu = start_emulator(data_dir=data_dir, env=env)
    try:
        recovered = verify(emu, token, acked)
        figures["rounds"][-1]["recovered"] = recovered
        log(f"round {rounds}: recovered {recovered}")
    finally:
        emu.stop()
    figures["acked"] = figures["rounds"][-1]["acked_total"]
    figures["acked_edits"] = figures["rounds"][-1]["acked_edits_total"]
    figures["recovered"] = recovered
    figures["lost"] = sum(figures["acked"].values()) - sum(recovered.values())
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--writers", type=int, default=6)
    p.add_argument("--min-acked", type=int, default=300, help="acknowledged writes to wait for before each kill")
    p.add_argument("--data-dir", default=None, help="default: a temporary folder")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="acs-emu-crash-") as tmp:
        data = Path(args.data_dir) if args.data_dir else Path(tmp) / "data"
        env = {"AZURE_COMMUNICATION_EMULATOR_HOME": str(Path(tmp) / "home")}
        try:
            figures = run_rounds(data, args.rounds, args.writers, args.min_acked, env=env)
        except AssertionError as exc:
            print(f"FAILED: {exc}")
            return 1
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
