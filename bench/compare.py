"""Before/after figures for a change to the extension: the same commands, loaded from two checkouts (by
default this one and a candidate), measured in one run against one seeded emulator, interleaved run by run.

Machine noise (other work on the same cores) then hits both sides alike, which separate runs cannot promise.

    compare.py /path/to/candidate [--before /path/to/other] [--runs 5] [--messages 10000]

The candidate is a folder holding `azext_communication/` and a `*.egg-info` (an az dev source), e.g. a
`git worktree` of the branch with the change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import AZ, ROOT, WORK, machine_info, median
from run import Bench


def main(argv: list[str] | None = None) -> int:
    """Seed once, then time each command from both sources; print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("candidate", type=Path, help="the checkout measured as 'after'")
    parser.add_argument("--before", type=Path, default=ROOT,
                        help="the checkout measured as 'before' (default: this one)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args(argv)
    candidate, before_source = args.candidate.resolve(), args.before.resolve()
    for folder in (candidate, before_source):
        if not any(folder.glob("*.egg-info")):
            parser.error(f"{folder} has no *.egg-info: run `python setup.py egg_info` there first")

    bench = Bench(args.runs, args.messages, threads=25, duration=0, source=before_source)
    rows = []
    try:
        bench.start()
        # Its own config dir: the command index there remembers which folder the extension was loaded from.
        after_env = dict(bench.env, AZURE_EXTENSION_DEV_SOURCES=str(candidate),
                         AZURE_CONFIG_DIR=str(WORK / "azconfig-candidate"))
        bench.timed("warmup-candidate-version", [AZ, "version"], after_env)
        bench.timed("warmup-candidate-threads", [AZ, "communication", "chat", "thread", "list"], after_env)
        commands = {
            "thread list": ["communication", "chat", "thread", "list"],
            f"message list ({args.messages} messages)": ["communication", "chat", "message", "list", "-t",
                                                         bench.big_thread],
            "message list --max-items 50": ["communication", "chat", "message", "list", "-t", bench.big_thread,
                                            "--max-items", "50"],
        }
        for i, (label, az_args) in enumerate(commands.items()):
            runs = bench.rounds({f"before-{i}": [AZ, *az_args], f"after-{i}": [AZ, *az_args]},
                                envs={f"after-{i}": after_env})
            same = bench.items_in(f"before-{i}-0") == bench.items_in(f"after-{i}-0")
            before = median([r.wall for r in runs[f"before-{i}"]])
            after = median([r.wall for r in runs[f"after-{i}"]])
            rss_before = median([r.maxrss_kb for r in runs[f"before-{i}"]]) / 1024
            rss_after = median([r.maxrss_kb for r in runs[f"after-{i}"]]) / 1024
            cpu_before = median([r.cpu for r in runs[f"before-{i}"]])
            cpu_after = median([r.cpu for r in runs[f"after-{i}"]])
            rows.append(f"| `{label}` | {before * 1000:.0f} ms | {after * 1000:.0f} ms | {after / before:.2f}x "
                        f"| {cpu_before * 1000:.0f} → {cpu_after * 1000:.0f} ms "
                        f"| {rss_before:.0f} → {rss_after:.0f} MiB | {'yes' if same else 'NO'} |")
    finally:
        bench.stop()
    info = machine_info()
    print(f"Before: {before_source}. After: {candidate}. {info['date']}, {info['cores']} cores, {info['cpu']}, "
          f"Python {info['python']}; medians of {args.runs} interleaved runs.\n")
    print("| command | wall before | wall after | after/before | CPU (user+sys) | peak RSS | same output |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
