"""Before/after figures for a change to the emulator: two emulators (two checkouts) measured in one run, the
same message-send load alternating between them in slices, so that other work on the machine hits both alike.

    compare_emulator.py --before /path/to/old-checkout [/path/to/new-checkout] [--duration 6] [--slices 3]

A checkout is a folder holding `azext_communication/` (e.g. `git archive <commit> | tar -x -C folder`). Besides
sends/s and latencies it reports each emulator's CPU time per request (user + system, from /proc).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, ROOT, WORK, JsonServer, machine_info, start_json_server
from loadgen import LoadResult, measure_sends


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): per request, it barely depends on other work on
    the machine, unlike sends/s."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _prepare(server: JsonServer) -> tuple[str, str]:
    """A chat token and a thread on this emulator."""
    from azure.communication.chat import ChatClient, CommunicationTokenCredential
    from azure.communication.identity import CommunicationIdentityClient

    ca = server.ca_bundle
    identity = CommunicationIdentityClient.from_connection_string(server.info["connectionString"],
                                                                  connection_verify=ca)
    _, token = identity.create_user_and_token(["chat"])
    chat = ChatClient(server.endpoint, CommunicationTokenCredential(token.token), connection_verify=ca)
    return token.token, chat.create_chat_thread("load test").chat_thread.id


def main(argv: list[str] | None = None) -> int:
    """Start both emulators, alternate the load between them per concurrency level, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("after", type=Path, nargs="?", default=ROOT, help="checkout measured as 'after'")
    parser.add_argument("--before", type=Path, required=True, help="checkout measured as 'before'")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per server and level")
    parser.add_argument("--slices", type=int, default=3, help="alternations per level")
    args = parser.parse_args(argv)
    WORK.mkdir(exist_ok=True)
    servers: dict[str, JsonServer] = {}
    rows = []
    try:
        for label, root in (("before", args.before.resolve()), ("after", args.after.resolve())):
            servers[label] = start_json_server(
                [PYTHON, "-m", "azext_communication.emulator", "--port", "0", "--json"],
                env=dict(os.environ, AZURE_COMMUNICATION_EMULATOR_HOME=str(WORK / f"emulator-home-{label}")),
                stderr_path=WORK / f"emulator-{label}.log", root=root)
        prepared = {label: _prepare(server) for label, server in servers.items()}
        for clients in (1, 4, 8):
            parts: dict[str, list[LoadResult]] = {label: [] for label in servers}
            cpu = dict.fromkeys(servers, 0.0)
            for _ in range(args.slices):
                for label, server in servers.items():
                    token, thread = prepared[label]
                    used = cpu_seconds(server.process.pid)
                    parts[label].append(measure_sends(server.endpoint, server.ca_bundle, token, thread, clients,
                                                      args.duration / args.slices))
                    cpu[label] += cpu_seconds(server.process.pid) - used
            before, after = LoadResult.combine(parts["before"]), LoadResult.combine(parts["after"])
            per_request = {label: cpu[label] * 1000 / max(1, sum(p.ok for p in parts[label])) for label in servers}
            rows.append(f"| {clients} | {before.per_second:.0f}/s ({before.p50_ms:.1f} / {before.p99_ms:.1f} ms) "
                        f"| {after.per_second:.0f}/s ({after.p50_ms:.1f} / {after.p99_ms:.1f} ms) "
                        f"| {after.per_second / before.per_second:.2f}x | {per_request['before']:.3f} / "
                        f"{per_request['after']:.3f} ms | {per_request['after'] / per_request['before']:.2f}x "
                        f"| {before.errors + after.errors} |")
    finally:
        for server in servers.values():
            server.stop()
    info = machine_info()
    print(f"Before: {args.before}. After: {args.after}. {info['date']}, {info['cores']} cores, {info['cpu']}, "
          f"Python {info['python']}; {args.duration:.0f} s per server and level in {args.slices} alternating slices.\n")
    print("| clients | before: sends/s (p50 / p99) | after: sends/s (p50 / p99) | after/before "
          "| emulator CPU per request, before / after | after/before | errors |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
