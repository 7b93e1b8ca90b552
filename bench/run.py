"""`make bench`: how fast `az communication chat` is next to what it is built on, measured in one run.

Starts an emulator, seeds a user, a few dozen threads and one thread of 10,000 messages, then times each
CLI command against its baselines (`az version`, the same call made by a plain SDK script, bare Python
start-up), interleaving the variants run by run so that noise from other work on the machine hits them alike.
Prints a markdown table of medians with PASS/FAIL against the budgets and writes it to bench/RESULTS.md.
It is a benchmark, not a test: the exit code is 0 unless the harness itself broke (or `--strict` and a budget
failed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collapsed import summarise
from common import (
    AZ,
    BENCH,
    PYTHON,
    ROOT,
    WORK,
    JsonServer,
    Run,
    close_spawner,
    code_version,
    machine_info,
    median,
    run_timed,
    start_json_server,
)
from loadgen import LoadResult, measure_sends, seed_messages

BUDGET_THREAD_LIST = 1.10  # x (az version + SDK script - bare python)
BUDGET_MESSAGE_WALL = 1.15  # x SDK script
BUDGET_MESSAGE_RSS = 1.30  # x SDK script
BUDGET_SENDS_8 = 1000.0  # sends/s with 8 clients
SEND_SLICES = 2  # each level's duration is split into this many emulator/baseline alternations


@dataclass
class Row:
    """One line of the results table."""

    measure: str
    ours: str
    baseline: str
    ratio: str = ""
    budget: str = ""
    result: str = ""


@dataclass
class Report:
    """The table, notes on anything odd seen while measuring, and every raw figure (for .bench/raw.json)."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw: dict[str, object] = field(default_factory=dict)

    def add(self, *args: str) -> None:
        self.rows.append(Row(*args))

    def failed(self) -> bool:
        return any(r.result in ("FAIL", "ERROR") for r in self.rows)


def verdict(ok: bool) -> str:
    """PASS/FAIL as printed in the table."""
    return "PASS" if ok else "FAIL"


def ms(seconds: float) -> str:
    """Seconds as whole milliseconds, the resolution that means something here."""
    return f"{seconds * 1000:.0f} ms"


class Bench:
    """Holds the seeded emulator, the child environment and the report while the sections run."""

    def __init__(self, runs: int, messages: int, threads: int, duration: float, source: Path = ROOT) -> None:
        self.source = source
        self.runs = runs
        self.messages = messages
        self.threads = threads
        self.duration = duration
        self.report = Report()
        self.emulator: JsonServer | None = None
        self.env: dict[str, str] = {}
        self.big_thread = ""
        self.load_thread = ""
        self.token = ""

    # ----------------------------------------------------------------------------------------- setup
    def start(self) -> None:
        """Fresh work folder and az config dir, emulator up, data seeded, az warmed up."""
        if WORK.exists():
            shutil.rmtree(WORK)
        (WORK / "out").mkdir(parents=True)
        self.emulator = start_json_server([PYTHON, "-m", "azext_communication.emulator", "--port", "0", "--json"],
                                          stderr_path=WORK / "emulator.log")
        ca = self.emulator.ca_bundle
        os.environ["REQUESTS_CA_BUNDLE"] = ca
        t0 = time.perf_counter()
        self._seed(ca)
        self.report.raw["seed_seconds"] = round(time.perf_counter() - t0, 1)
        self.env = dict(
            os.environ,
            AZURE_CONFIG_DIR=str(WORK / "azconfig"),
            AZURE_EXTENSION_DEV_SOURCES=str(self.source),
            AZURE_CORE_COLLECT_TELEMETRY="no",
            AZURE_CORE_NO_COLOR="true",
            REQUESTS_CA_BUNDLE=ca,
            AZURE_COMMUNICATION_ENDPOINT=self.emulator.endpoint,
            AZURE_COMMUNICATION_ACCESS_TOKEN=self.token,
        )
        self.env.pop("PYTHONPATH", None)
        # The first run per config dir checks versions and builds the command index: keep it out of the figures.
        self.timed("warmup-version", [AZ, "version"])
        self.timed("warmup-threads", [AZ, "communication", "chat", "thread", "list"])

    def _seed(self, ca: str) -> None:
        from azure.communication.chat import ChatClient, CommunicationTokenCredential
        from azure.communication.identity import CommunicationIdentityClient

        identity = CommunicationIdentityClient.from_connection_string(self.emulator.info["connectionString"],
                                                                      connection_verify=ca)
        _, token = identity.create_user_and_token(["chat"])
        self.token = token.token
        chat = ChatClient(self.emulator.endpoint, CommunicationTokenCredential(self.token), connection_verify=ca)
        for i in range(self.threads):
            tid = chat.create_chat_thread(f"nightly build {i:02d}").chat_thread.id
            chat.get_chat_thread_client(tid, connection_verify=ca).send_message(f"build {i} passed")
        self.big_thread = chat.create_chat_thread("build log").chat_thread.id
        self.load_thread = chat.create_chat_thread("load test").chat_thread.id
        seed_messages(self.emulator.endpoint, ca, self.token, self.big_thread, self.messages)

    def stop(self) -> None:
        """Nothing the bench started is left running."""
        close_spawner()
        if self.emulator:
            self.emulator.stop()
            self.emulator = None

    # ----------------------------------------------------------------------------------------- helpers
    def timed(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Run:
        """One child run; its stdout and stderr are kept under .bench/out/ for checks and post-mortems."""
        # cwd outside the checkout: `python -m azure.cli` puts the cwd first on sys.path, which would shadow
        # the extension source az is told to load.
        run = run_timed(argv, env or self.env, WORK / "out" / f"{name}.out", WORK / "out" / f"{name}.err", cwd=WORK)
        if run.rc != 0:
            err = (WORK / "out" / f"{name}.err").read_text(errors="replace").strip().splitlines()
            raise RuntimeError(f"{' '.join(argv[:6])} exited {run.rc}: {err[-1] if err else ''}")
        return run

    def rounds(self, variants: dict[str, list[str]], envs: dict[str, dict[str, str]] | None = None
               ) -> dict[str, list[Run]]:
        """`runs` rounds, each running every variant once, in turn (interleaved, not batched)."""
        results: dict[str, list[Run]] = {k: [] for k in variants}
        for i in range(self.runs):
            for name, argv in variants.items():
                results[name].append(self.timed(f"{name}-{i}", argv, (envs or {}).get(name)))
        for name, runs in results.items():
            self.report.raw[name] = {"wall_s": [round(r.wall, 4) for r in runs],
                                     "cpu_s": [round(r.cpu, 4) for r in runs],
                                     "maxrss_kb": [r.maxrss_kb for r in runs]}
        return results

    def items_in(self, name: str) -> list[dict]:
        return json.loads((WORK / "out" / f"{name}.out").read_text())

    def sdk(self, *args: str) -> list[str]:
        return [PYTHON, str(BENCH / "sdk_list.py"), *args]

    # ----------------------------------------------------------------------------------------- sections
    def thread_list(self) -> None:
        """(1) thread list against az version (floor), the SDK script and bare Python start-up."""
        r = self.rounds({
            "python": [PYTHON, "-c", "pass"],
            "az-version": [AZ, "version"],
            "sdk-threads": self.sdk("threads"),
            "az-threads": [AZ, "communication", "chat", "thread", "list"],
        })
        w = {k: median([x.wall for x in v]) for k, v in r.items()}
        ours, floor, sdk, bare = w["az-threads"], w["az-version"], w["sdk-threads"], w["python"]
        n_az = len(self.items_in(f"az-threads-{self.runs - 1}"))
        n_sdk = len(self.items_in(f"sdk-threads-{self.runs - 1}"))
        if n_az != n_sdk:
            self.report.notes.append(f"thread list: az printed {n_az} threads, the SDK script {n_sdk}.")
        allowed = BUDGET_THREAD_LIST * (floor + sdk - bare)
        self.report.add("1. `thread list` wall time", ms(ours),
                        f"az version {ms(floor)} + SDK script {ms(sdk)} - python {ms(bare)} = {ms(floor + sdk - bare)}",
                        f"{ours / (floor + sdk - bare):.2f}x", f"<= {BUDGET_THREAD_LIST:.2f}x",
                        verdict(ours <= allowed and n_az == n_sdk))
        self.report.add("1. overhead over the SDK script", f"+{ms(ours - sdk)}", f"SDK script {ms(sdk)}",
                        f"{ours / sdk:.2f}x")
        self.report.add("1. overhead over `az version`", f"+{ms(ours - floor)}", f"az version {ms(floor)}",
                        f"{ours / floor:.2f}x")
        cpu = {k: median([x.cpu for x in v]) for k, v in r.items()}
        self.report.add("1. `thread list` CPU time (user+sys)", ms(cpu["az-threads"]),
                        f"az version {ms(cpu['az-version'])}, SDK script {ms(cpu['sdk-threads'])}",
                        f"{cpu['az-threads'] / cpu['sdk-threads']:.2f}x")

    def message_list(self) -> None:
        """(2) message list of the 10,000-message thread: wall time and peak RSS against the SDK script."""
        variants = {
            "sdk-messages": self.sdk("messages", self.big_thread),
            "az-messages": [AZ, "communication", "chat", "message", "list", "-t", self.big_thread],
        }
        for name, argv in variants.items():  # warm-up, and the check that both print the same messages
            self.timed(f"{name}-warmup", argv)
        ids_az = [m["id"] for m in self.items_in("az-messages-warmup")]
        ids_sdk = [m["id"] for m in self.items_in("sdk-messages-warmup")]
        same = ids_az == ids_sdk and len(ids_az) >= self.messages
        if not same:
            self.report.notes.append(f"message list: az printed {len(ids_az)} messages, the SDK script "
                                     f"{len(ids_sdk)}; same order: {ids_az == ids_sdk}.")
        r = self.rounds(variants)
        wall = {k: median([x.wall for x in v]) for k, v in r.items()}
        rss = {k: median([x.maxrss_kb for x in v]) / 1024 for k, v in r.items()}
        ours, sdk = wall["az-messages"], wall["sdk-messages"]
        self.report.add(f"2. `message list` ({len(ids_az)} messages) wall time", ms(ours), f"SDK script {ms(sdk)}",
                        f"{ours / sdk:.2f}x", f"<= {BUDGET_MESSAGE_WALL:.2f}x",
                        verdict(ours <= BUDGET_MESSAGE_WALL * sdk and same))
        cpu = {k: median([x.cpu for x in v]) for k, v in r.items()}
        self.report.add("2. `message list` CPU time (user+sys)", ms(cpu["az-messages"]),
                        f"SDK script {ms(cpu['sdk-messages'])}", f"{cpu['az-messages'] / cpu['sdk-messages']:.2f}x")
        self.report.add("2. `message list` peak RSS", f"{rss['az-messages']:.0f} MiB",
                        f"SDK script {rss['sdk-messages']:.0f} MiB",
                        f"{rss['az-messages'] / rss['sdk-messages']:.2f}x", f"<= {BUDGET_MESSAGE_RSS:.2f}x",
                        verdict(rss["az-messages"] <= BUDGET_MESSAGE_RSS * rss["sdk-messages"]))

    def count(self, name: str, argv: list[str]) -> dict:
        """Run argv[1:] under the request counter (argv[0] is the interpreter); keep only emulator requests."""
        out = WORK / "out" / f"{name}.count.json"
        self.timed(name, [PYTHON, str(BENCH / "count_requests.py"), str(out), *argv])
        data = json.loads(out.read_text())
        host = self.emulator.endpoint.split("://", 1)[1]
        data["emulator_requests"] = [s for s in data["sent"] if s.split(" ", 1)[1].startswith(host)]
        return data

    def max_items(self) -> None:
        """(3) message list --max-items 50: exactly one request, and its wall time."""
        az_args = ["communication", "chat", "message", "list", "-t", self.big_thread, "--max-items", "50"]
        ours = self.count("count-az-max50", ["-m", "azure.cli", *az_args])
        sdk = self.count("count-sdk-max50", [str(BENCH / "sdk_list.py"), "messages", self.big_thread,
                                             "--max-items", "50"])
        n_items = len(self.items_in("count-az-max50"))
        self.report.raw["requests_az_max50"] = ours["emulator_requests"]
        self.report.raw["requests_sdk_max50"] = sdk["emulator_requests"]
        n_ours, n_sdk = len(ours["emulator_requests"]), len(sdk["emulator_requests"])
        self.report.add("3. `message list --max-items 50` requests", str(n_ours), f"SDK script {n_sdk}", "",
                        "= 1", verdict(n_ours == 1 and n_items == 50))
        r = self.rounds({
            "sdk-max50": self.sdk("messages", self.big_thread, "--max-items", "50"),
            "az-max50": [AZ, *az_args],
        })
        w = {k: median([x.wall for x in v]) for k, v in r.items()}
        self.report.add("3. `message list --max-items 50` wall time", ms(w["az-max50"]),
                        f"SDK script {ms(w['sdk-max50'])}", f"{w['az-max50'] / w['sdk-max50']:.2f}x")

    def load_table(self) -> None:
        """(4) command-table load time against `az version`'s, and no SDK module imported at load time."""
        variants = {
            "load-version": ["version"],
            "load-threads": ["communication", "chat", "thread", "list", "--max-items", "1"],
        }
        data: dict[str, list[dict]] = {k: [] for k in variants}
        for i in range(self.runs):
            for name, args in variants.items():
                out = WORK / "out" / f"{name}-{i}.json"
                self.timed(f"{name}-{i}", [PYTHON, str(BENCH / "load_table.py"), str(out), *args])
                data[name].append(json.loads(out.read_text()))
        self.report.raw["load_table"] = data
        ours = list(data["load-threads"])
        if any(d["load_ms"] is None or d["exit"] != 0 for d in ours):
            raise RuntimeError(f"the command did not load or run: {ours[-1]}")
        t_ours = median([d["load_ms"] for d in ours])
        t_base = median([d["load_ms"] for d in data["load-version"]])
        at_load = sorted({m for d in ours for m in d["sdk_at_load"]})
        after = sorted({m for d in ours for m in d["sdk_after_run"]})
        self.report.add("4. command table load (`thread list`)", f"{t_ours:.0f} ms", f"`version` {t_base:.0f} ms",
                        f"{t_ours / t_base:.2f}x")
        self.report.add("4. SDK modules imported at load", str(len(at_load)) + (f" ({', '.join(at_load[:3])})"
                                                                               if at_load else ""),
                        f"after the command ran: {len(after)}", "", "= 0", verdict(not at_load and bool(after)))
        self.report.raw["extension_modules_at_load"] = ours[-1]["extension_at_load"]

    def emulator_throughput(self) -> None:
        """(5) sends/s and latency with 1, 4, 8 keep-alive clients, the emulator against a bare TLS server."""
        baseline = start_json_server([PYTHON, str(BENCH / "baseline_server.py"), "--port", "0", "--json"],
                                     stderr_path=WORK / "baseline.log")
        try:
            for clients in (1, 4, 8):
                # Alternate the two servers in slices so that a burst of other work hits both alike.
                emu_parts, base_parts = [], []
                for _ in range(SEND_SLICES):
                    emu_parts.append(measure_sends(self.emulator.endpoint, self.emulator.ca_bundle, self.token,
                                                   self.load_thread, clients, self.duration / SEND_SLICES))
                    base_parts.append(measure_sends(baseline.endpoint, baseline.ca_bundle, self.token,
                                                    self.load_thread, clients, self.duration / SEND_SLICES))
                emu, base = LoadResult.combine(emu_parts), LoadResult.combine(base_parts)
                self.report.raw[f"sends_{clients}"] = {"emulator": _load_raw(emu), "baseline": _load_raw(base)}
                budget, result = "", ""
                if clients == 8:
                    budget, result = f">= {BUDGET_SENDS_8:.0f}/s", verdict(emu.per_second >= BUDGET_SENDS_8)
                    if os.cpu_count() != 2:
                        self.report.notes.append(f"The sends budget is stated for 2 cores; this machine has "
                                                 f"{os.cpu_count()}.")
                if emu.errors:
                    result = "FAIL"
                    self.report.notes.append(f"{emu.errors} sends refused by the emulator at {clients} clients.")
                self.report.add(f"5. sends/s, {clients} client{'s' if clients > 1 else ''} (p50 / p99)",
                                f"{emu.per_second:.0f}/s ({emu.p50_ms:.1f} / {emu.p99_ms:.1f} ms)",
                                f"plain TLS server {base.per_second:.0f}/s ({base.p50_ms:.1f} / {base.p99_ms:.1f} ms)",
                                f"{emu.per_second / base.per_second:.2f}x", budget, result)
        finally:
            baseline.stop()

    def events(self) -> None:
        """(7) chat events: events/s to one webhook, send -> webhook latency (at 1,000 sends/s, and flat out), sends/s
        with events on vs off."""
        import events as event_bench

        for row in event_bench.run(duration=max(4.0, self.duration * 1.5)):
            self.report.add(*row)

    def realtime(self) -> None:
        """(R) real-time notifications: send -> push to 200 protocol clients and a Chromium page, sends/s with 200
        clients connected vs none (bench/realtime.py, with its own emulator)."""
        import realtime as realtime_bench

        for row in realtime_bench.run(duration=max(3.0, self.duration)):
            self.report.add(*row)

    def conversations(self) -> None:
        """(W) `message watch` / `message wait`: bench/conversations.py, with its own observed emulator."""
        from conversations import measure

        for row in measure(self.runs):
            self.report.add(*row)

    def bot_loop(self) -> None:
        """(8) the bot round trip, send -> wait through events and the echo bot (bench/bot_roundtrip.py)."""
        import bot_roundtrip

        result = bot_roundtrip.measure(rounds=50, intervals=[bot_roundtrip.DEFAULT_INTERVAL, 0.5])
        self.report.raw["bot_roundtrip"] = result
        for name, ours, base, ratio, budget, ok in bot_roundtrip.rows(result):
            self.report.add(name, ours, base, ratio, budget, "" if ok is None else verdict(ok))

    # ----------------------------------------------------------------------------------------- profiles
    def profile(self) -> None:
        """pyinstrument reports of the CLI commands (and the SDK script for comparison) under .bench/profiles."""
        folder = WORK / "profiles"
        folder.mkdir(exist_ok=True)
        pyinstrument = str(Path(PYTHON).parent / "pyinstrument")
        targets = {
            "az-threads": ["-m", "azure.cli", "communication", "chat", "thread", "list"],
            "az-messages": ["-m", "azure.cli", "communication", "chat", "message", "list", "-t", self.big_thread],
            "az-max50": ["-m", "azure.cli", "communication", "chat", "message", "list", "-t", self.big_thread,
                         "--max-items", "50"],
            "sdk-messages": [str(BENCH / "sdk_list.py"), "messages", self.big_thread],
        }
        for name, args in targets.items():
            for renderer, ext in (("text", "txt"), ("html", "html")):
                argv = [pyinstrument, "-r", renderer, "-o", str(folder / f"{name}.{ext}"), "--interval", "0.0005"]
                if renderer == "text":
                    argv.append("--show-all")
                self.timed(f"profile-{name}-{ext}", [*argv, *args])
        self.profile_emulator(folder)
        print(f"profiles written to {folder}", file=sys.stderr)

    def profile_emulator(self, folder: Path) -> None:
        """py-spy on the emulator while 8 clients send: every thread, only samples holding the GIL (CPU, not waits)."""
        raw = folder / "emulator-8-clients.txt"
        spy = subprocess.Popen([str(Path(PYTHON).parent / "py-spy"), "record", "--nonblocking", "--gil", "-p",
                                str(self.emulator.process.pid), "-d", str(int(self.duration) + 2), "-f", "raw",
                                "-o", str(raw)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            measure_sends(self.emulator.endpoint, self.emulator.ca_bundle, self.token, self.load_thread, 8,
                          self.duration)
        finally:
            spy.wait(60)
        (folder / "emulator-8-clients-summary.txt").write_text(summarise(str(raw), 40))


def _load_raw(r: LoadResult) -> dict:
    return {"per_second": round(r.per_second, 1), "ok": r.ok, "errors": r.errors, "p50_ms": round(r.p50_ms, 3),
            "p99_ms": round(r.p99_ms, 3)}


def render(report: Report, info: dict[str, str], runs: int, elapsed: float) -> str:
    """The markdown written to bench/RESULTS.md (and printed)."""
    lines = [
        "# Benchmark results",
        "",
        f"Measured {info['date']} on {info['cores']} cores, {info['memory']} RAM, {info['cpu']}, "
        f"Python {info['python']}, {info['os']}; code at {info['code']}. `make bench` ({elapsed:.0f} s): medians "
        f"of {runs} runs; every figure is paired with a baseline measured in the same run, the variants "
        "interleaved run by run.",
        "",
        "| measure | ours | baseline | ratio | budget | result |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {r.measure} | {r.ours} | {r.baseline} | {r.ratio} | {r.budget} | {r.result} |" for r in report.rows]
    if report.notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in report.notes]
    lines += [
        "",
        "How: wall time is spawn-to-reap of the child, CPU time and peak RSS its own `ru_utime + ru_stime` and",
        "`ru_maxrss` from `os.wait4` (children are spawned by the small `bench/spawner.py`, so that the bench's own",
        "memory does not count as theirs); `az` runs are",
        "`.venv/bin/az` with an isolated `AZURE_CONFIG_DIR` under `.bench/`, the checkout as",
        "`AZURE_EXTENSION_DEV_SOURCES`, telemetry off, one warm-up run first. The SDK script is `bench/sdk_list.py`",
        "(same call, pages of 200, same JSON printed). Requests are counted in-process by `bench/count_requests.py`;",
        "the command-table load is timed and its imports checked by `bench/load_table.py`. Sends: one process per",
        "client (`bench/loadgen.py`), keep-alive HTTPS, against the emulator and `bench/baseline_server.py`",
        "(threaded TLS `http.server`, TCP_NODELAY, fixed 201 body). Raw figures: `.bench/raw.json`.",
        "Profile findings and before/after figures: `bench/FINDINGS.md`.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run every section (a broken section is reported as ERROR, the others still run)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per variant (median reported)")
    parser.add_argument("--messages", type=int, default=10_000, help="messages in the big thread")
    parser.add_argument("--threads", type=int, default=25, help="threads the user takes part in, besides two")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per concurrency level")
    parser.add_argument("--only", nargs="*",
                        help="sections to run: threads messages max50 load sends events watch bot realtime")
    parser.add_argument("--profile", action="store_true", help="also write pyinstrument profiles to .bench/profiles")
    parser.add_argument("--results", default=str(BENCH / "RESULTS.md"), help="where to write the markdown")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget fails")
    parser.add_argument("--source", type=Path, default=ROOT,
                        help="extension checkout az loads (to measure a candidate change against this one)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    info = machine_info()
    info["code"] = code_version()
    bench = Bench(args.runs, args.messages, args.threads, args.duration, args.source.resolve())
    sections: dict[str, Callable[[], None]] = {
        "threads": bench.thread_list, "messages": bench.message_list, "max50": bench.max_items,
        "load": bench.load_table, "sends": bench.emulator_throughput, "events": bench.events,
        "watch": bench.conversations, "bot": bench.bot_loop, "realtime": bench.realtime,
    }
    try:
        bench.start()
        print(f"seeded in {bench.report.raw['seed_seconds']} s", file=sys.stderr)
        for name, section in sections.items():
            if args.only is not None and name not in args.only:
                continue
            t0 = time.perf_counter()
            try:
                section()
            except Exception as exc:
                traceback.print_exc()
                bench.report.add(f"{name}", "ERROR", str(exc)[:200], "", "", "ERROR")
            print(f"{name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        if args.profile:
            bench.profile()
    finally:
        bench.stop()
        (WORK / "raw.json").write_text(json.dumps(bench.report.raw, indent=1))
    text = render(bench.report, info, args.runs, time.perf_counter() - started)
    print(text)
    if args.only is None and args.source.resolve() == ROOT:
        Path(args.results).write_text(text)
    return 1 if args.strict and bench.report.failed() else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.SubprocessError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(2)
