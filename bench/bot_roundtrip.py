"""Bench: the bot round trip, from `az ... message send --content ping` returning to `az ... message wait`
returning with the echo bot's "pong".

Setup (real processes, as in the README): an emulator, the echo bot (examples/echo_bot.py) with its own user, a
thread of Alice and the bot, and the emulator subscribed to the bot (`az communication emulator subscription
create`). One round: start `message wait --after <last message> --custom ... --interval I`, give it time to start
polling, send "ping" with `az`, and time from the send's exit to the wait's exit.

Baseline, in the same run, rounds interleaved: the same, except that the driver posts the "pong" itself through
the SDK the moment the send returns (no event, no bot): what `message wait` alone costs at that interval. The
difference is what events and the bot add. Budget (issue): p99 <= interval + 100 ms.

    .venv/bin/python bench/bot_roundtrip.py [--rounds 50] [--intervals 2 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import AZ, PYTHON, ROOT, WORK, JsonServer, median, percentile, start_json_server

BOT = ROOT / "examples" / "echo_bot.py"
BUDGET_MARGIN = 0.100  # seconds over the interval allowed at p99
DEFAULT_INTERVAL = 2.0
PONG = "senderDisplayName=='Echo Bot' && content.message=='pong'"


class Loop:
    """The emulator, the bot and a thread, set up with real `az` commands."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.emulator: JsonServer | None = None
        self.bot: JsonServer | None = None
        self.env: dict[str, str] = {}
        self.thread = ""
        self.last = ""  # id of the newest message of the thread

    def az(self, *args: str, env: dict[str, str] | None = None) -> str:
        out = subprocess.run([AZ, *args, "-o", "tsv"], env=env or self.env, capture_output=True, text=True,
                             timeout=120, cwd=self.folder)
        if out.returncode:
            raise RuntimeError(f"az {' '.join(args[:4])} failed: {out.stderr.strip()[-300:]}")
        return out.stdout.strip()

    def start(self) -> None:
        home = self.folder / "emulator-home"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_COMMUNICATION", "ECHO_BOT"))}
        base.pop("PYTHONPATH", None)
        self.emulator = start_json_server([PYTHON, "-m", "azext_communication.emulator", "--port", "0", "--json"],
                                          env=dict(base, AZURE_COMMUNICATION_EMULATOR_HOME=str(home)),
                                          stderr_path=self.folder / "emulator.log")
        self.env = dict(base, AZURE_CONFIG_DIR=str(self.folder / "azconfig"), AZURE_EXTENSION_DEV_SOURCES=str(ROOT),
                        AZURE_CORE_COLLECT_TELEMETRY="no", AZURE_CORE_NO_COLOR="true",
                        AZURE_CORE_ONLY_SHOW_ERRORS="true", REQUESTS_CA_BUNDLE=self.emulator.ca_bundle,
                        AZURE_COMMUNICATION_ENDPOINT=self.emulator.endpoint,
                        AZURE_COMMUNICATION_CONNECTION_STRING=self.emulator.info["connectionString"])
        alice = self._json("communication", "identity", "token", "issue", "--scope", "chat")
        bot = self._json("communication", "identity", "token", "issue", "--scope", "chat")
        self.env["AZURE_COMMUNICATION_ACCESS_TOKEN"] = alice["token"]
        self.bot = start_json_server([PYTHON, str(BOT), "--port", "0", "--json"],
                                     env=dict(self.env, ECHO_BOT_ACCESS_TOKEN=bot["token"],
                                              ECHO_BOT_ENDPOINT=self.emulator.endpoint),
                                     stderr_path=self.folder / "bot.log")
        self.thread = self.az("communication", "chat", "thread", "create", "--topic", "bench",
                              "--user", bot["user_id"], "--query", "chatThread.id")
        self.az("communication", "emulator", "subscription", "create", "--name", "echo-bot",
                "--endpoint", self.bot.info["url"])
        self.last = self.az("communication", "chat", "message", "send", "-t", self.thread, "--content", "hello",
                            "--query", "id")
        self._sdk_client(alice["token"])

    def _json(self, *args: str) -> dict:
        out = subprocess.run([AZ, *args, "-o", "json"], env=self.env, capture_output=True, text=True, timeout=120,
                             cwd=self.folder)
        if out.returncode:
            raise RuntimeError(f"az {' '.join(args[:4])} failed: {out.stderr.strip()[-300:]}")
        return json.loads(out.stdout)

    def _sdk_client(self, token: str) -> None:
        from azure.communication.chat import ChatThreadClient, CommunicationTokenCredential

        self.sdk = ChatThreadClient(self.emulator.endpoint, CommunicationTokenCredential(token), self.thread,
                                    connection_verify=self.emulator.ca_bundle)

    def round(self, interval: float, warmup: float, by_bot: bool) -> float:
        """One round; returns seconds from the send's exit to the wait's exit."""
        condition = PONG if by_bot else "senderDisplayName=='Driver' && content.message=='pong'"
        wait = subprocess.Popen([AZ, "communication", "chat", "message", "wait", "-t", self.thread, "--after",
                                 self.last, "--custom", condition, "--interval", str(interval), "--timeout", "60",
                                 "--query", "id", "-o", "tsv"], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=self.folder)
        ended: list[float] = []
        watcher = threading.Thread(target=lambda: (wait.wait(), ended.append(time.monotonic())))
        watcher.start()
        try:
            time.sleep(warmup)  # the wait process starts and makes its first poll
            sent = subprocess.run([AZ, "communication", "chat", "message", "send", "-t", self.thread, "--content",
                                   "ping", "--query", "id", "-o", "tsv"], env=self.env, capture_output=True,
                                  text=True, timeout=120, cwd=self.folder)
            returned = time.monotonic()
            if sent.returncode:
                raise RuntimeError(f"message send failed: {sent.stderr.strip()[-300:]}")
            if not by_bot:
                self.sdk.send_message("pong", sender_display_name="Driver")
            watcher.join(90)
            out, err = wait.communicate(timeout=30)
        finally:
            if wait.poll() is None:
                wait.kill()
                wait.wait()
        if wait.returncode:
            raise RuntimeError(f"message wait failed ({wait.returncode}): {err.strip()[-300:]}")
        self.last = out.strip()
        return ended[0] - returned

    def stop(self) -> None:
        for server in (self.bot, self.emulator):
            if server is not None:
                server.stop()


def az_startup(env: dict[str, str], folder: Path, runs: int = 3) -> float:
    """Median wall time of `az version` (how long a wait process needs before it can poll)."""
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run([AZ, "version"], env=env, capture_output=True, timeout=120, cwd=folder)
        times.append(time.monotonic() - t0)
    return median(times)


def measure(rounds: int, intervals: list[float], folder: Path | None = None) -> dict:
    """{interval: {"bot": [seconds...], "baseline": [...]}} plus the warm-up used."""
    loop = Loop(folder or WORK / "bot")
    loop.start()
    try:
        warmup = 2.5 * az_startup(loop.env, loop.folder)
        out: dict = {"warmup_seconds": round(warmup, 2), "intervals": {}}
        for interval in intervals:
            bot, base = [], []
            for _ in range(rounds):
                bot.append(loop.round(interval, warmup, by_bot=True))
                base.append(loop.round(interval, warmup, by_bot=False))
            out["intervals"][str(interval)] = {"bot": bot, "baseline": base}
        return out
    finally:
        loop.stop()


def summary(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return percentile(ordered, 50), percentile(ordered, 99)


def rows(result: dict) -> list[tuple[str, str, str, str, str, bool]]:
    """(measure, ours, baseline, ratio, budget, ok) per interval."""
    out = []
    for key, figures in result["intervals"].items():
        interval = float(key)
        (b50, b99), (s50, s99) = summary(figures["bot"]), summary(figures["baseline"])
        label = "default" if interval == DEFAULT_INTERVAL else f"--interval {interval:g}"
        budget = interval + BUDGET_MARGIN
        out.append((f"bot round trip, send -> wait, {label} (p50 / p99, {len(figures['bot'])} rounds)",
                    f"{b50 * 1000:.0f} / {b99 * 1000:.0f} ms",
                    f"reply posted by the driver {s50 * 1000:.0f} / {s99 * 1000:.0f} ms",
                    f"{b99 / s99:.2f}x p99", f"p99 <= {budget * 1000:.0f} ms", b99 <= budget))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=50, help="rounds per interval and variant")
    parser.add_argument("--intervals", type=float, nargs="+", default=[DEFAULT_INTERVAL, 0.5])
    args = parser.parse_args(argv)
    result = measure(args.rounds, args.intervals)
    print(f"warm-up before each send: {result['warmup_seconds']} s")
    print("| measure | ours | baseline | ratio | budget | result |\n|---|---|---|---|---|---|")
    for name, ours, base, ratio, budget, ok in rows(result):
        print(f"| {name} | {ours} | {base} | {ratio} | {budget} | {'PASS' if ok else 'FAIL'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
