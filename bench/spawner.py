"""Starts the timed children on behalf of the bench, from a process that stays small.

Why: Linux carries a process's peak RSS across fork and exec, so a child started by the bench itself (tens of
MB after seeding and reading results) reports at least the bench's own peak as its `ru_maxrss`. Children
spawned from this process (only os/json/time imported, about 9 MB) report their own peak.

Protocol: one JSON request per line on stdin, `{"argv", "env", "stdout", "stderr", "cwd"}`; one JSON answer
per line on stdout, `{"wall", "cpu", "maxrss_kb", "rc"}` (wall time from spawn to reap; CPU time, user + system,
and `ru_maxrss` from `wait4`).
"""

from __future__ import annotations

import json
import os
import sys
import time


def run(request: dict) -> dict:
    """Spawn one child with its output redirected to files, wait for it, and measure it."""
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)]
    for fd, key in ((1, "stdout"), (2, "stderr")):
        actions.append((os.POSIX_SPAWN_OPEN, fd, request.get(key) or os.devnull,
                        os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
    os.chdir(request["cwd"])  # single-threaded: the child inherits it
    argv = request["argv"]
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, request["env"], file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss,
            "rc": os.waitstatus_to_exitcode(status)}


def main() -> int:
    """Serve requests until stdin closes."""
    for line in sys.stdin:
        if line.strip():
            try:
                answer = run(json.loads(line))
            except OSError as exc:  # e.g. the program does not exist: report, keep serving
                answer = {"wall": 0.0, "cpu": 0.0, "maxrss_kb": 0, "rc": 127, "error": str(exc)}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
