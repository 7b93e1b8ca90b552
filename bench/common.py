"""Shared pieces of the benchmark: paths, child-process timing with peak RSS, servers that print a JSON line.

Every timed child is spawned by a small helper process and reaped there with `os.wait4`, so wall time and
the child's own peak RSS (`ru_maxrss`) come from the same run (`.venv/bin/az` execs Python, so its pid is
the Python process).
"""

from __future__ import annotations

import json
import os
import platform
import selectors
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = ROOT / ".bench"
VENV_BIN = Path(sys.executable).parent
PYTHON = str(VENV_BIN / "python")
AZ = str(VENV_BIN / "az")
START_TIMEOUT = 60.0


@dataclass
class Run:
    """One timed child process."""

    wall: float  # seconds
    maxrss_kb: int
    rc: int
    cpu: float = 0.0  # user + system seconds: less sensitive than wall time to other work on the machine


class Spawner:
    """The small helper process (bench/spawner.py) that starts every timed child; see there for why."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([PYTHON, str(BENCH / "spawner.py")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=str(ROOT))

    def run(self, argv: Sequence[str], env: dict[str, str], stdout_path: Path | None, stderr_path: Path | None,
            cwd: Path) -> Run:
        request = {"argv": list(argv), "env": env, "cwd": str(cwd),
                   "stdout": str(stdout_path) if stdout_path else None,
                   "stderr": str(stderr_path) if stderr_path else None}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the spawner process died")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"could not start {argv[0]}: {answer['error']}")
        return Run(answer["wall"], answer["maxrss_kb"], answer["rc"], answer["cpu"])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc.stdout.close()


_spawner: Spawner | None = None


def run_timed(argv: Sequence[str], env: dict[str, str], stdout_path: Path | None = None,
              stderr_path: Path | None = None, cwd: Path | None = None) -> Run:
    """Run a child to completion through the spawner: wall time from spawn to reap, its own peak RSS."""
    global _spawner
    if _spawner is None or _spawner.proc.poll() is not None:
        _spawner = Spawner()
    return _spawner.run(argv, env, stdout_path, stderr_path, cwd or ROOT)


def close_spawner() -> None:
    """Stop the helper process (the bench calls this on the way out)."""
    global _spawner
    if _spawner is not None:
        _spawner.close()
        _spawner = None


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


@dataclass
class JsonServer:
    """A server child that announced itself with one JSON line on stdout (emulator or baseline)."""

    info: dict
    process: subprocess.Popen

    @property
    def endpoint(self) -> str:
        return self.info["endpoint"]

    @property
    def ca_bundle(self) -> str:
        return self.info["caBundle"]

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the child (SIGTERM, then SIGKILL) and close its pipes; never leaves it running."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()


def start_json_server(argv: Sequence[str], env: dict[str, str] | None = None,
                      stderr_path: Path | None = None, root: Path = ROOT) -> JsonServer:
    """Start a server that prints one JSON line when ready (`--port 0 --json`) and return what it said.

    `root` is the checkout whose packages it imports (another one to compare emulator versions).
    """
    err = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL  # noqa: SIM115
    proc_env = dict(env or os.environ)
    proc_env["PYTHONPATH"] = str(root) + os.pathsep + proc_env.get("PYTHONPATH", "")
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                            env=proc_env, cwd=str(root))
    if err is not subprocess.DEVNULL:
        err.close()
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT
    line = b""
    try:
        while time.monotonic() < deadline and not line.endswith(b"\n") and proc.poll() is None:
            if sel.select(timeout=0.2):
                chunk = proc.stdout.readline()
                if not chunk:
                    break
                line += chunk
    finally:
        sel.close()
    if not line.strip():
        proc.kill()
        proc.wait(10)
        raise RuntimeError(f"{' '.join(argv)} did not print its JSON line (see {stderr_path})")
    return JsonServer(json.loads(line), proc)


def code_version() -> str:
    """The commit measured, and whether the extension or emulator had uncommitted changes at the time."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "azext_communication"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head}, with uncommitted changes in azext_communication/" if dirty else head


def machine_info() -> dict[str, str]:
    """Cores, memory, CPU model, Python and OS: results are meaningless without them."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "memory": mem,
        "cpu": cpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
