"""`message watch` / `message wait`: what following a thread costs, counted from the emulator's side.

Runs its own emulator in this process, with every answer observed (time, status, and the connection it went out
on: each connection has its own server thread), and runs `az` as child processes:

- idle: `watch` at the default interval on a quiet thread; list requests per interval, connections (TLS
  handshakes) and the watching process's CPU over a steady window, next to a plain SDK polling loop
  (`bench/sdk_poll.py`, same requests) measured the same way;
- latency: `watch --interval 0.5` while 200 messages are sent at random moments: send's 201 -> line printed;
- wait: `wait --after ID` when the reply is already there: requests, and wall time next to
  `message list --max-items 50` (runs interleaved).

    .venv/bin/python bench/conversations.py [--runs 5] [--idle-seconds 30] [--messages 200]

`make bench` runs it as its "watch" section.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import AZ, BENCH, PYTHON, ROOT, WORK, median, percentile, run_timed

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the emulator runs in this process

BUDGET_IDLE_CPU = 2.0  # % of one core at the default interval
BUDGET_LATENCY_EXTRA = 0.150  # seconds over the interval, p99
BUDGET_WAIT_WALL = 1.15  # x `message list --max-items 50`
DEFAULT_INTERVAL = 2.0
LATENCY_INTERVAL = 0.5

Row = tuple[str, str, str, str, str, str]  # measure, ours, baseline, ratio, budget, result


@dataclass
class Answer:
    at: float
    method: str
    path: str
    status: int
    connection: str


@dataclass
class Service:
    """An in-process emulator whose answers are all recorded."""

    server: object
    token: str = ""
    answers: list[Answer] = field(default_factory=list)

    def polls(self, thread_id: str, since: float = 0.0) -> list[Answer]:
        from urllib.parse import quote

        part = f"/chat/threads/{quote(thread_id, safe='')}/messages"
        return [a for a in list(self.answers)
                if a.at >= since and a.method == "GET" and a.path.split("?")[0].endswith(part)]


def start_service(home: Path) -> Service:
    from azext_communication.emulator.server import HOME_ENV, EmulatorServer

    os.environ[HOME_ENV] = str(home)
    server = EmulatorServer(port=0).start()
    service = Service(server)
    original = server.app.handle

    def observed(method, raw_target, headers, body):
        answer = original(method, raw_target, headers, body)
        service.answers.append(Answer(time.monotonic(), method, raw_target, answer[0],
                                      threading.current_thread().name))
        return answer

    server.app.handle = observed
    from azure.communication.identity import CommunicationIdentityClient

    identity = CommunicationIdentityClient.from_connection_string(server.connection_string,
                                                                  connection_verify=server.ca_bundle)
    service.token = identity.create_user_and_token(["chat"])[1].token
    return service


def thread_client(service: Service, thread_id: str | None = None, topic: str = "bench"):
    from azure.communication.chat import ChatClient, ChatThreadClient, CommunicationTokenCredential

    credential = CommunicationTokenCredential(service.token)
    if thread_id is None:
        chat = ChatClient(service.server.endpoint, credential, connection_verify=service.server.ca_bundle)
        thread_id = chat.create_chat_thread(topic).chat_thread.id
    return ChatThreadClient(service.server.endpoint, credential, thread_id, connection_verify=service.server.ca_bundle)


def az_env(service: Service, config_dir: Path) -> dict[str, str]:
    env = dict(os.environ, AZURE_CONFIG_DIR=str(config_dir), AZURE_EXTENSION_DEV_SOURCES=str(ROOT),
               AZURE_CORE_COLLECT_TELEMETRY="no", AZURE_CORE_NO_COLOR="true",
               REQUESTS_CA_BUNDLE=service.server.ca_bundle, AZURE_COMMUNICATION_ENDPOINT=service.server.endpoint,
               AZURE_COMMUNICATION_ACCESS_TOKEN=service.token)
    env.pop("PYTHONPATH", None)
    return env


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.02)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# ---------------------------------------------------------------------------------------------- idle
def _steady_cpu(argv: list[str], env: dict[str, str], service: Service, thread_id: str, seconds: float,
                settle: float = 3.0) -> dict:
    """Start a polling child, let it settle, then measure its CPU and the requests it makes for `seconds`."""
    import psutil

    proc = subprocess.Popen(argv, env=env, cwd=str(WORK), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        started = time.monotonic()
        wait_for(lambda: bool(service.polls(thread_id, started)), 60, "the first poll")
        time.sleep(settle)
        ps = psutil.Process(proc.pid)
        t0, c0 = time.monotonic(), sum(ps.cpu_times()[:2])
        time.sleep(seconds)
        t1, c1 = time.monotonic(), sum(ps.cpu_times()[:2])
        polls = service.polls(thread_id, started)
        window = [p for p in polls if t0 <= p.at <= t1]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    return {"cpu_percent": 100 * (c1 - c0) / (t1 - t0), "window_s": t1 - t0, "requests": len(window),
            "connections": len({p.connection for p in polls}), "rc": proc.returncode,
            "traceback": b"Traceback" in err}


# Ctrl-C (SIGINT) ends `watch` with exit 130, as the help says: the idle run ends it that way.
INTERRUPTED = 130


def idle(service: Service, env: dict[str, str], seconds: float) -> list[Row]:
    tid = thread_client(service, topic="idle").thread_id
    ours = _steady_cpu([AZ, "communication", "chat", "message", "watch", "-t", tid], env, service, tid, seconds)
    base = _steady_cpu([PYTHON, str(BENCH / "sdk_poll.py"), tid, str(DEFAULT_INTERVAL)], env, service, tid, seconds)
    expected = ours["window_s"] / DEFAULT_INTERVAL
    per_interval = ours["requests"] / expected
    ok_requests = abs(ours["requests"] - expected) <= 1 and ours["connections"] == 1
    return [
        ("W1. `watch` idle: list requests per 2 s interval", f"{per_interval:.2f} ({ours['requests']} in "
         f"{ours['window_s']:.0f} s)", f"SDK loop {base['requests'] / expected:.2f}", "", "= 1",
         verdict(ok_requests)),
        ("W1. `watch` idle: connections (TLS handshakes) for the whole watch", str(ours["connections"]),
         f"SDK loop {base['connections']}", "", "= 1", verdict(ours["connections"] == 1)),
        ("W1. `watch` idle: CPU of the watching process", f"{ours['cpu_percent']:.2f} % of a core",
         f"SDK loop {base['cpu_percent']:.2f} %", f"{ours['cpu_percent'] / max(base['cpu_percent'], 1e-6):.2f}x",
         f"< {BUDGET_IDLE_CPU:g} %", verdict(ours["cpu_percent"] < BUDGET_IDLE_CPU and ours["rc"] == INTERRUPTED
                                             and not ours["traceback"])),
    ]


# ---------------------------------------------------------------------------------------------- latency
def latency(service: Service, env: dict[str, str], count: int) -> list[Row]:
    client = thread_client(service, topic="latency")
    tid = client.thread_id
    printed: dict[str, float] = {}
    proc = subprocess.Popen([AZ, "communication", "chat", "message", "watch", "-t", tid, "--interval",
                             str(LATENCY_INTERVAL)], env=env, cwd=str(WORK), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def read() -> None:
        for line in proc.stdout:
            printed[json.loads(line)["id"]] = time.monotonic()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sent: dict[str, float] = {}
    try:
        started = time.monotonic()
        wait_for(lambda: bool(service.polls(tid, started)), 60, "the first poll")
        rng = random.Random(10)
        for i in range(count):
            time.sleep(rng.uniform(0.02, 0.3))
            mid = client.send_message(f"latency {i}").id  # returns once the 201 is in
            sent[mid] = time.monotonic()
        wait_for(lambda: set(sent) <= set(printed), 15, "every message to be printed")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    lat = sorted(printed[m] - sent[m] for m in sent)
    p50, p99 = percentile(lat, 50), percentile(lat, 99)
    budget = LATENCY_INTERVAL + BUDGET_LATENCY_EXTRA
    extra = set(printed) - set(sent)
    return [(f"W2. `watch --interval {LATENCY_INTERVAL:g}`: send 201 -> line printed, p50 / p99 / max over {count}",
             f"{p50 * 1000:.0f} / {p99 * 1000:.0f} / {lat[-1] * 1000:.0f} ms",
             f"interval {LATENCY_INTERVAL * 1000:.0f} ms",
             f"p99 {p99 / budget:.2f}x budget", f"p99 <= {budget * 1000:.0f} ms",
             verdict(p99 <= budget and not extra and len(lat) == count))]


# ---------------------------------------------------------------------------------------------- wait
def wait_already_there(service: Service, env: dict[str, str], runs: int) -> list[Row]:
    client = thread_client(service, topic="wait")
    tid = client.thread_id
    for i in range(60):
        client.send_message(f"history {i}")
    ping = client.send_message("ping").id
    client.send_message("pong", sender_display_name="Bot")
    wait_argv = [AZ, "communication", "chat", "message", "wait", "-t", tid, "--after", ping, "--custom",
                 "senderDisplayName=='Bot' && contains(content.message, 'pong')"]
    list_argv = [AZ, "communication", "chat", "message", "list", "-t", tid, "--max-items", "50"]
    out = WORK / "out"
    out.mkdir(parents=True, exist_ok=True)
    walls: dict[str, list[float]] = {"wait": [], "list": []}
    requests: list[int] = []
    found: list[bool] = []
    for i in range(runs + 1):  # the first round warms up
        for name, argv in (("wait", wait_argv), ("list", list_argv)):
            before = len(service.answers)
            run = run_timed(argv, env, out / f"conv-{name}-{i}.out", out / f"conv-{name}-{i}.err", cwd=WORK)
            if run.rc != 0:
                raise RuntimeError(f"{name} exited {run.rc}")
            if i:
                walls[name].append(run.wall)
            if name == "wait":
                requests.append(len(service.answers) - before)
                found.append(json.loads((out / f"conv-{name}-{i}.out").read_text())["content"]["message"] == "pong")
    ours, base = median(walls["wait"]), median(walls["list"])
    return [
        ("W3. `wait` with the reply already there: requests", str(max(requests)), "`message list --max-items 50`: 1",
         "", "= 1", verdict(max(requests) == 1 and all(found))),
        ("W3. `wait` with the reply already there: wall time", f"{ours * 1000:.0f} ms",
         f"`message list --max-items 50` {base * 1000:.0f} ms", f"{ours / base:.2f}x",
         f"<= {BUDGET_WAIT_WALL:.2f}x", verdict(ours <= BUDGET_WAIT_WALL * base)),
    ]


# ---------------------------------------------------------------------------------------------- entry points
def measure(runs: int = 5, idle_seconds: float = 30.0, messages: int = 200) -> list[Row]:
    """Every row of this benchmark (a section that breaks is one ERROR row; the others still run)."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-conversations-") as tmp:
        service = start_service(Path(tmp) / "emu")
        try:
            env = az_env(service, Path(tmp) / "az")
            WORK.mkdir(exist_ok=True)
            run_timed([AZ, "version"], env, cwd=WORK)  # the first run per config dir builds the command index
            sections = (("idle", lambda: idle(service, env, idle_seconds)),
                        ("latency", lambda: latency(service, env, messages)),
                        ("wait", lambda: wait_already_there(service, env, runs)))
            for name, section in sections:
                try:
                    rows += section()
                except Exception as exc:  # reported as a row, like bench/run.py does
                    rows.append((f"W. {name}", "ERROR", str(exc)[:200], "", "", "ERROR"))
        finally:
            service.server.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of `wait` and `list` (median reported)")
    parser.add_argument("--idle-seconds", type=float, default=30.0, help="length of the idle measuring window")
    parser.add_argument("--messages", type=int, default=200, help="messages sent in the latency run")
    args = parser.parse_args(argv)
    rows = measure(args.runs, args.idle_seconds, args.messages)
    print("| measure | ours | baseline | ratio | budget | result |\n|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 1 if any(r[5] in ("FAIL", "ERROR") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
