"""Command line of the emulator: `python -m azext_communication.emulator` (and `az communication emulator start`).

Prints how to connect once it is ready (or exactly one JSON line with `--json`), logs to stderr, and stops
cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading

from .events.subscriptions import EventSettings
from .server import IDLE_TIMEOUT, REQUEST_TIMEOUT, EmulatorServer, emulator_home
from .wire import FAULT_MODES

log = logging.getLogger("azext_communication.emulator")


def parse_fault(spec: str) -> dict:
    """`MODE:COUNT[:VALUE]` -> fault dict; VALUE is retryAfter (429/503) or stallSeconds (stall)."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or parts[0] not in FAULT_MODES:
        raise ValueError(f"invalid fault '{spec}': expected MODE:COUNT[:VALUE] with MODE in {', '.join(FAULT_MODES)}")
    try:
        out: dict = {"mode": parts[0], "count": int(parts[1])}
        if len(parts) == 3:
            if parts[0] == "stall":
                out["stallSeconds"] = float(parts[2])
            else:
                out["retryAfter"] = int(parts[2])
    except ValueError:
        raise ValueError(f"invalid fault '{spec}': COUNT and VALUE must be numbers") from None
    if out["count"] < 1:
        raise ValueError(f"invalid fault '{spec}': COUNT must be at least 1")
    return out


def _fault_arg(value: str) -> str:
    try:
        parse_fault(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _positive(high: float, what: str, expected: str):
    """An argparse type: a number in (0, high], else the one-line message `invalid <what> '<value>': <expected>`."""

    def _parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not 0 < number <= high:  # also false for nan
            raise argparse.ArgumentTypeError(f"invalid {what} '{value}': {expected}")
        return number

    return _parse


_seconds = _positive(86400, "duration", "expected seconds between 0 and 86400")
_scale = _positive(1000, "factor", "expected a number greater than 0 and at most 1000")


def build_parser() -> argparse.ArgumentParser:
    """Options of the emulator command line."""
    p = argparse.ArgumentParser(
        prog="python -m azext_communication.emulator",
        description="Local emulator of the Azure Communication Services Chat and Identity data planes (HTTPS).")
    p.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
    p.add_argument("--port", type=int, default=8443, help="Port to listen on (default 8443; 0 picks a free port).")
    p.add_argument("--data-dir", default=None,
                   help="Folder for persistent state (SQLite), certificates and access key. Without it state is "
                        "in memory and certificates live in $AZURE_COMMUNICATION_EMULATOR_HOME or "
                        f"{emulator_home()}.")
    p.add_argument("--access-key", default=None,
                   help="Base64 access key for the connection string (default: generated once and kept).")
    p.add_argument("--throttle", action="store_true", help="Enforce the documented service rate limits (429).")
    p.add_argument("--json", action="store_true", dest="json_output",
                   help="Print one JSON line {endpoint, connectionString, caBundle} on stdout when ready.")
    p.add_argument("--fault", action="append", default=None, type=_fault_arg, metavar="MODE:COUNT",
                   help="Inject a fault into the next COUNT requests (MODE: 429, 503, close, stall). Repeatable.")
    p.add_argument("--request-timeout", type=_seconds, default=REQUEST_TIMEOUT, metavar="SECONDS",
                   help="Time a client has to send a whole request once it started (default "
                        f"{REQUEST_TIMEOUT:g}; slower clients get 408).")
    p.add_argument("--idle-timeout", type=_seconds, default=IDLE_TIMEOUT, metavar="SECONDS",
                   help=f"Time a keep-alive connection may wait for its next request (default {IDLE_TIMEOUT:g}).")
    p.add_argument("--event-webhook", action="append", default=None, metavar="URL", dest="event_webhooks",
                   help="Deliver every chat event (Event Grid schema) to this webhook, validated at start. "
                        "Repeatable.")
    p.add_argument("--events-config", default=None, metavar="FILE",
                   help='Event subscriptions from a JSON file: {"subscriptions": [{"name", "endpoint", '
                        '"eventDeliverySchema", "filter", "retryPolicy", "skipValidation"}]}.')
    p.add_argument("--event-retry-scale", type=_scale, default=1.0, metavar="FACTOR",
                   help="Multiply the event retry schedule (and delivery timeout and TTL) by FACTOR, e.g. 0.01 in "
                        "tests (default 1).")
    p.add_argument("--events-include-actor", action="store_true",
                   help="Send user-level event copies to the user who acted too (the older documented behaviour).")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                   help="Logging level on stderr (default INFO).")
    return p


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (in-process runs may swap and close it afterwards)."""

    @property
    def stream(self) -> object:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def _setup_logging(level: str = "INFO") -> None:
    if not log.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level)


def run_emulator(host: str = "127.0.0.1", port: int = 8443, data_dir: str | None = None,
                 access_key: str | None = None, throttle: bool = False, json_output: bool = False,
                 faults: list[str] | None = None, request_timeout: float = REQUEST_TIMEOUT,
                 idle_timeout: float = IDLE_TIMEOUT, events: EventSettings | None = None) -> int:
    """Run the emulator in the foreground until SIGINT/SIGTERM; returns the exit code (0 on a clean stop,
    2 for an invalid option value, 1 when it cannot start)."""
    _setup_logging(logging.getLevelName(log.level) if log.level else "INFO")
    stop = threading.Event()
    previous: dict = {}
    if threading.current_thread() is threading.main_thread():  # signals can only be handled there
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    # Threads blocked in TLS reads wait for the GIL up to the switch interval (5 ms by default) while another
    # thread runs Python; a shorter interval cuts that convoy latency under many keep-alive clients.
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    server = None
    try:
        try:
            fault_specs = [parse_fault(f) for f in faults or []]
            server = EmulatorServer(host=host, port=port, data_dir=data_dir, access_key=access_key,
                                    throttle=throttle, faults=fault_specs, request_timeout=request_timeout,
                                    idle_timeout=idle_timeout, events=events)
            server.start()
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except (OSError, RuntimeError) as exc:
            print(f"error: could not start the emulator on {host}:{port}: {exc}", file=sys.stderr)
            return 1
        try:
            _announce(server, json_output)
        except OSError as exc:  # stdout closed by the parent: keep serving, the log says where
            log.warning("could not write the start-up message: %s", exc)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            log.info("stopping the emulator")
            server.stop()
        sys.setswitchinterval(old_interval)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _announce(server: EmulatorServer, json_output: bool) -> None:
    """What a user (or a script with --json: exactly one line) needs to connect."""
    if json_output:
        sys.stdout.write(json.dumps({"endpoint": server.endpoint, "connectionString": server.connection_string,
                                     "caBundle": server.ca_bundle}) + "\n")
    else:
        sys.stdout.write(
            "Azure Communication Services emulator is running.\n"
            f"  Endpoint:          {server.endpoint}\n"
            f"  Connection string: {server.connection_string}\n"
            f"  Data:              {server.data_dir or 'in memory (lost on exit)'}\n"
            "Trust its certificate in this shell (keeps the public roots trusted too):\n"
            f"  export REQUESTS_CA_BUNDLE={server.ca_bundle}\n"
            "Press Ctrl+C to stop.\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m azext_communication.emulator`."""
    args = build_parser().parse_args(argv)
    _setup_logging(args.log_level)
    return run_emulator(host=args.host, port=args.port, data_dir=args.data_dir, access_key=args.access_key,
                        throttle=args.throttle, json_output=args.json_output, faults=args.fault,
                        request_timeout=args.request_timeout, idle_timeout=args.idle_timeout,
                        events=EventSettings(tuple(args.event_webhooks or ()), args.events_config,
                                             args.event_retry_scale, args.events_include_actor))
