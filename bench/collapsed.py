"""Summarise a py-spy raw (collapsed stacks) profile: the functions with the most own and inclusive samples.

py-spy samples every thread of the emulator (a threaded server: a per-thread profiler would miss the work),
and this turns its flame-graph input into the short ranked list a report can quote.

    collapsed.py PROFILE.txt [--top 25]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path


def summarise(path: str, top: int = 25) -> str:
    """Ranked own-time and inclusive-time tables as plain text."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = [_short(fr) for fr in stack.split(";")]
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
    if not total:
        return "no samples\n"
    out = [f"{total} samples", "", "own time:"]
    out += [f"{100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    out += ["", "inclusive time:"]
    out += [f"{100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(out) + "\n"


_CHECKOUT = str(Path(__file__).resolve().parent.parent) + "/"


def _short(frame: str) -> str:
    """`func (path/to/site-packages/pkg/mod.py:123)` -> `func (pkg/mod.py)`: lines differ per sample."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", f"/lib/python{sys.version_info[0]}.{sys.version_info[1]}/", _CHECKOUT):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    sys.stdout.write(summarise(args.path, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
