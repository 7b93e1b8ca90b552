"""Bench: the bot round trip, from `az ... message send --content ping` returning to `az ... message wait`
returning with the echo bot's "pong".

Setup (real processes, as in the README): an emulator, the echo bot (examples/echo_bot.py) with its own user, a
thread of Alice and the bot, and the emulator subscribed to the bot (`az communication emulator subscription
create`). One round: start `message wait --after <last message> --custom ... --interval I`, wait until it
polls (it holds a connection to the emulator), send "ping" with `az`, and time from the send's exit to the wait's
exit.

Two figures per round: to the moment the wait prints the pong (stdout line) and to the wait's exit (what
`$(...)` in a script waits for; it includes az's own shutdown after printing). Baseline, in the same run, rounds
interleaved: the same, except that the driver posts the "pong" itself through the SDK the moment the send returns
(no event, no bot): what `message wait` alone costs at that interval; the difference is what events and the bot
add. Budget (issue): p99 <= interval + 100 ms, from the send's return to the wait's exit.

    .venv/bin/python bench/bot_roundtrip.py [--rounds 50] [--baseline-rounds 20] [--intervals 2 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import AZ, PYTHON, ROOT, WORK, JsonServer, percentile, start_json_server

BOT = ROOT / "examples" / "echo_bot.py"
BUDGET_MARGIN = 0.100  # seconds over the interval allowed at p99
POLL_MARGIN = 0.15  # seconds after the wait's first connection before the send (its first answer is in)
DEFAULT_INTERVAL = 2.0
PONG = "senderDisplayName=='Echo Bot' && content.message=='pong'"


class Loop:
    """The emulator, the bot and a thread, set up with real `az` commands."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder = folder.resolve()
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

    def _polling(self, proc: subprocess.Popen, timeout: float = 60.0) -> None:
        """Return once `proc` holds a connection to the emulator (its first poll is under way), plus a margin
        for that poll's answer, so that the round does not measure the wait's start-up."""
        import psutil

        port = int(self.emulator.endpoint.rsplit(":", 1)[1])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if any(c.raddr and c.raddr.port == port for c in psutil.Process(proc.pid).net_connections("tcp")):
                    time.sleep(POLL_MARGIN)
                    return
            except psutil.Error:
                pass
            time.sleep(0.01)
        raise RuntimeError("message wait did not start polling")

    def round(self, interval: float, by_bot: bool) -> dict[str, float]:
        """One round. `exit`: seconds from the send's exit to the wait's exit (the issue's measure); `hop`: from
        the ping's acknowledgement (its createdOn) to the pong's (events + bot); `poll`: from the pong's createdOn
        to the wait printing it; `shutdown`: from the print to the wait's exit (az itself)."""
        condition = PONG if by_bot else "senderDisplayName=='Driver' && content.message=='pong'"
        wait = subprocess.Popen([AZ, "communication", "chat", "message", "wait", "-t", self.thread, "--after",
                                 self.last, "--custom", condition, "--interval", str(interval), "--timeout", "60",
                                 "--query", "[id, createdOn]", "-o", "tsv"], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, cwd=self.folder)
        seen: dict[str, object] = {}

        def follow() -> None:
            seen["out"] = wait.stdout.readline() + wait.stdout.readline()
            seen["printed"], seen["printed_wall"] = time.monotonic(), time.time()
            wait.wait()
            seen["exited"] = time.monotonic()

        watcher = threading.Thread(target=follow)
        watcher.start()
        try:
            self._polling(wait)
            sent = subprocess.run([AZ, "communication", "chat", "message", "send", "-t", self.thread, "--content",
                                   "ping", "--query", "id", "-o", "tsv"], env=self.env, capture_output=True,
                                  text=True, timeout=120, cwd=self.folder)
            returned = time.monotonic()
            if sent.returncode:
                raise RuntimeError(f"message send failed: {sent.stderr.strip()[-300:]}")
            if not by_bot:
                self.sdk.send_message("pong", sender_display_name="Driver")
            watcher.join(90)
        finally:
            if wait.poll() is None:
                wait.kill()
            watcher.join(10)
            wait.stdout.close()
        if wait.returncode or "exited" not in seen:
            raise RuntimeError(f"message wait failed (exit code {wait.returncode})")
        pong_id, pong_created = str(seen["out"]).split()
        self.last = pong_id
        ping_ack = self.sdk.get_message(sent.stdout.strip()).created_on.timestamp()
        pong_at = datetime.fromisoformat(pong_created).timestamp()
        return {"exit": seen["exited"] - returned, "hop": pong_at - ping_ack,  # type: ignore[operator]
                "poll": seen["printed_wall"] - pong_at, "shutdown": seen["exited"] - seen["printed"]}  # type: ignore[operator]

    def stop(self) -> None:
        for server in (self.bot, self.emulator):
            if server is not None:
                server.stop()


def measure(rounds: int, intervals: list[float], baseline_rounds: int = 20, folder: Path | None = None) -> dict:
    """{"intervals": {interval: {"bot": [round, ...], "baseline": [...]}}} (see `Loop.round`); baseline rounds
    interleaved with the bot's."""
    loop = Loop(folder or WORK / "bot")
    loop.start()
    try:
        out: dict = {"intervals": {}}
        for interval in intervals:
            bot, base = [], []
            every = max(1, rounds // max(1, baseline_rounds))
            for i in range(rounds):
                bot.append(loop.round(interval, by_bot=True))
                if i % every == 0 and len(base) < baseline_rounds:
                    base.append(loop.round(interval, by_bot=False))
            out["intervals"][str(interval)] = {"bot": bot, "baseline": base}
        return out
    finally:
        loop.stop()


def _p(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return percentile(ordered, 50), percentile(ordered, 99)


def _ms(pair: tuple[float, float]) -> str:
    return f"{pair[0] * 1000:.0f} / {pair[1] * 1000:.0f} ms"


def rows(result: dict) -> list[tuple[str, str, str, str, str, bool | None]]:
    """(measure, ours, baseline, ratio, budget, ok) per interval: the issue's measure with its budget, then where
    the time goes."""
    out = []
    for key, figures in result["intervals"].items():
        interval = float(key)
        label = "default interval" if interval == DEFAULT_INTERVAL else f"--interval {interval:g}"
        bot, base = figures["bot"], figures["baseline"]
        ours, theirs = _p([r["exit"] for r in bot]), _p([r["exit"] for r in base])
        budget = interval + BUDGET_MARGIN
        out.append((f"8. bot round trip, send returns -> wait returns, {label} (p50 / p99, {len(bot)} rounds)",
                    _ms(ours), f"reply posted by the driver, no bot: {_ms(theirs)} ({len(base)} rounds)",
                    f"{ours[1] / theirs[1]:.2f}x p99", f"p99 <= {budget * 1000:.0f} ms", ours[1] <= budget))
        hop, poll, shut = (_p([r[k] for r in bot]) for k in ("hop", "poll", "shutdown"))
        out.append((f"8. where it goes, {label}: ping stored -> pong stored (events + bot); pong stored -> wait "
                    "prints it; wait prints -> az exits (p50 / p99 each)", f"{_ms(hop)}; {_ms(poll)}; {_ms(shut)}",
                    f"driver's rounds, print -> az exits: {_ms(_p([r['shutdown'] for r in base]))}", "", "", None))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=50, help="rounds per interval and variant")
    parser.add_argument("--baseline-rounds", type=int, default=20, help="baseline rounds per interval")
    parser.add_argument("--intervals", type=float, nargs="+", default=[DEFAULT_INTERVAL, 0.5])
    args = parser.parse_args(argv)
    result = measure(args.rounds, args.intervals, args.baseline_rounds)
    print("| measure | ours | baseline | ratio | budget | result |\n|---|---|---|---|---|---|")
    for name, ours, base, ratio, budget, ok in rows(result):
        print(f"| {name} | {ours} | {base} | {ratio} | {budget} | {'' if ok is None else 'PASS' if ok else 'FAIL'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
