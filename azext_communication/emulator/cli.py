"""Command line of the emulator: `python -m azext_communication.emulator` (and `az communication emulator start`).

Prints how to connect once it is ready (or exactly one JSON line with `--json`), logs to stderr, and stops
cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from . import instances
from .events.subscriptions import EventSettings
from .model.retention import DAY_SECONDS, MAX_DAY_SECONDS
from .realtime import DEFAULT_ORIGINS, check_origin_pattern
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


MAX_PORT = 65535


def check_port(value: object) -> int:
    """A TCP port, 0 (a free one) to 65535; ValueError with one line otherwise (bind would raise OverflowError)."""
    try:
        port = int(str(value).strip(), 10)
    except ValueError:
        port = -1
    if isinstance(value, bool) or not 0 <= port <= MAX_PORT:
        raise ValueError(f"invalid port '{value}': expected an integer from 0 to {MAX_PORT} (0 picks a free port)")
    return port


def _port_arg(value: str) -> int:
    try:
        return check_port(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fault_arg(value: str) -> str:
    try:
        parse_fault(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def check_positive(value: object, high: float, what: str, expected: str) -> float:
    """A number in (0, high]; else ValueError `invalid <what> '<value as typed>': <expected>` (one line)."""
    try:
        number = float(str(value).strip())
    except ValueError:
        number = -1.0
    if isinstance(value, bool) or not 0 < number <= high:  # also false for nan
        raise ValueError(f"invalid {what} '{value}': {expected}")
    return number


def check_seconds(value: object) -> float:
    """--request-timeout, --idle-timeout."""
    return check_positive(value, 86400, "duration", "expected seconds greater than 0 and at most 86400")


def check_retry_scale(value: object) -> float:
    """--event-retry-scale."""
    return check_positive(value, 1000, "factor", "expected a number greater than 0 and at most 1000")


def check_retention_day(value: object) -> float:
    """--retention-day-seconds."""
    return check_positive(value, MAX_DAY_SECONDS, "--retention-day-seconds", "expected seconds greater than 0 and "
                          f"at most {MAX_DAY_SECONDS:.0f} (default {DAY_SECONDS:.0f})")


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _argparse_type(check: Callable[[object], float]) -> Callable[[str], float]:
    """An argparse type from a check: argparse prints its one-line message and exits 2."""

    def _parse(value: str) -> float:
        try:
            return check(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return _parse


def _origin_arg(value: str) -> str:
    try:
        return check_origin_pattern(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_seconds = _argparse_type(check_seconds)
_scale = _argparse_type(check_retry_scale)
_day = _argparse_type(check_retention_day)


def build_parser() -> argparse.ArgumentParser:
    """Options of the emulator command line."""
    p = argparse.ArgumentParser(
        prog="python -m azext_communication.emulator",
        description="Local emulator of the Azure Communication Services Chat and Identity data planes (HTTPS).")
    p.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
    p.add_argument("--port", type=_port_arg, default=8443,
                   help="Port to listen on (default 8443; 0 picks a free port).")
    p.add_argument("--data-dir", default=None,
                   help="Folder for persistent state (SQLite), certificates and access key. Without it state is "
                        "in memory and certificates live in $AZURE_COMMUNICATION_EMULATOR_HOME or "
                        f"{emulator_home()}.")
    p.add_argument("--access-key", default=None,
                   help="Base64 access key for the connection string (default: generated once and kept).")
    p.add_argument("--throttle", action="store_true", help="Enforce the documented service rate limits (429).")
    p.add_argument("--json", action="store_true", dest="json_output",
                   help="Print one JSON line {endpoint, connectionString, caBundle, inspectorUrl} on stdout when "
                        "ready.")
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
    p.add_argument("--cors-origin", nargs="+", type=_origin_arg, default=None, metavar="ORIGIN",
                   dest="cors_origins",
                   help="Browser origins allowed to call the emulator (chat REST, real-time notifications) and to "
                        "open its WebSocket: SCHEME://HOST[:PORT], ':*' for any port, or * (default: "
                        f"{' '.join(DEFAULT_ORIGINS)}).")
    p.add_argument("--events-typing", action="store_true",
                   help="Also emit ChatTypingIndicatorReceivedInThread, one per typing notification (off by default, "
                        "as the service documents no such event).")
    p.add_argument("--events-no-sequence-id", action="store_false", dest="events_sequence_id",
                   help="Leave sequenceId out of the message events (it is not on Learn yet; default: included).")
    p.add_argument("--retention-day-seconds", type=_day, default=DAY_SECONDS, metavar="SECONDS",
                   help="Length of a retention-policy day (default 86400): a thread with a 30-day policy is deleted "
                        "30 x SECONDS after its creation; e.g. 0.02 in tests.")
    p.add_argument("--log-level", default="INFO", choices=LOG_LEVELS,
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


def _setup_logging(level: str = "INFO") -> Callable[[], None]:
    """Log to stderr at `level`; returns what puts the logger back as it was, so that an emulator run in-process
    (az, tests) does not leave its request log on for whatever runs next."""
    saved = (list(log.handlers), log.level, log.propagate)
    if not log.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level)

    def restore() -> None:
        log.handlers[:] = saved[0]
        log.setLevel(saved[1])
        log.propagate = saved[2]

    return restore


def _print_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _start_failure(exc: BaseException, host: str, port: int) -> str:
    """One line saying why the emulator could not start, and what to do when the port is taken."""
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return (f"could not start the emulator: {host}:{port} is already in use (another emulator? "
                "'az communication emulator status' says; --port 0 picks a free port)")
    return f"could not start the emulator on {host}:{port}: {exc}"


def run_emulator(host: str = "127.0.0.1", port: int = 8443, data_dir: str | None = None,
                 access_key: str | None = None, throttle: bool = False, json_output: bool = False,
                 faults: list[str] | None = None, request_timeout: float = REQUEST_TIMEOUT,
                 idle_timeout: float = IDLE_TIMEOUT, events: EventSettings | None = None,
                 report: Callable[[str], None] = _print_error, retention_day_seconds: float = DAY_SECONDS,
                 cors_origins: list[str] | tuple[str, ...] | None = None, log_level: str | None = None) -> int:
    """Run the emulator in the foreground until SIGINT/SIGTERM; returns the exit code (0 on a clean stop,
    2 for an invalid option value, 1 when it cannot start). A start-up failure is one line, given to `report`
    (default: 'error: ...' on stderr). `log_level` (one of LOG_LEVELS) is the level of the log on stderr;
    None keeps the level set by whoever set up the logger (`main`), else INFO."""
    if log_level is not None and log_level not in LOG_LEVELS:
        report(f"invalid log level '{log_level}': expected one of {', '.join(LOG_LEVELS)}")
        return 2
    restore_logging = _setup_logging(log_level or (logging.getLevelName(log.level) if log.level else "INFO"))
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
    recorded = None
    try:
        candidate = None
        try:
            fault_specs = [parse_fault(f) for f in faults or []]
            candidate = EmulatorServer(host=host, port=check_port(port), data_dir=data_dir, access_key=access_key,
                                       throttle=throttle, faults=fault_specs, request_timeout=request_timeout,
                                       idle_timeout=idle_timeout, events=events,
                                       retention_day_seconds=retention_day_seconds,
                                       cors_origins=tuple(cors_origins or DEFAULT_ORIGINS))
            candidate.start()
        except (ValueError, OverflowError) as exc:
            _stop_quietly(candidate)
            report(str(exc))
            return 2
        except (OSError, RuntimeError) as exc:
            _stop_quietly(candidate)
            report(_start_failure(exc, host, port))
            return 1
        server = candidate
        recorded = _record(server)
        try:
            _announce(server, json_output)
        except OSError as exc:  # stdout closed by the parent: keep serving, the log says where
            log.warning("could not write the start-up message: %s", exc)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        instances.forget(recorded)
        if server is not None:
            log.info("stopping the emulator")
            server.stop()
        sys.setswitchinterval(old_interval)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        restore_logging()
    return 0


def _stop_quietly(server: EmulatorServer | None) -> None:
    """Release what a server that failed to start may hold (nothing is logged: it never ran)."""
    if server is not None:
        with contextlib.suppress(Exception):  # the start-up error is what the user needs to see
            server.stop()


def _record(server: EmulatorServer) -> Path | None:
    """Note the running emulator for `az communication emulator status` (a failure only costs that)."""
    try:
        return instances.record(emulator_home(), {
            "endpoint": server.endpoint, "connectionString": server.connection_string, "caBundle": server.ca_bundle,
            "inspectorUrl": server.inspector_url, "dataDir": str(server.data_dir) if server.data_dir else None})
    except OSError as exc:
        log.warning("could not record the emulator for 'az communication emulator status': %s", exc)
        return None


def export_lines(endpoint: str, connection_string: str, ca_bundle: str) -> list[str]:
    """The shell lines that point az (and any SDK script) at an emulator."""
    return [f"export AZURE_COMMUNICATION_ENDPOINT={shlex.quote(endpoint)}",
            f"export AZURE_COMMUNICATION_CONNECTION_STRING={shlex.quote(connection_string)}",
            f"export REQUESTS_CA_BUNDLE={shlex.quote(ca_bundle)}"]


NEXT_STEP = ("export AZURE_COMMUNICATION_ACCESS_TOKEN=$(az communication identity token issue --scope chat "
             "--query token -o tsv)")


def _announce(server: EmulatorServer, json_output: bool) -> None:
    """What a user (or a script with --json: exactly one line) needs to connect."""
    if json_output:
        sys.stdout.write(json.dumps({"endpoint": server.endpoint, "connectionString": server.connection_string,
                                     "caBundle": server.ca_bundle, "inspectorUrl": server.inspector_url}) + "\n")
    else:
        data = f"data in {server.data_dir}" if server.data_dir else "data in memory, lost on exit"
        lines = [f"Azure Communication Services emulator is running on {server.endpoint} ({data}).",
                 "Paste into the shell that runs your az commands or scripts (the CA bundle keeps the public",
                 "roots trusted too):"]
        lines += ["  " + line for line in export_lines(server.endpoint, server.connection_string, server.ca_bundle)]
        lines += ["Then issue a chat token (for a new user) for the chat commands:", "  " + NEXT_STEP,
                  "See and drive what happens inside (threads, messages, users, events, faults) on the web page",
                  "(its key is new at each start; a browser trusts the page once it trusts " + server.ca_cert + "):",
                  "  " + server.inspector_url,
                  "For a web app in a browser, trust the emulator there once: az communication emulator trust",
                  "Each request is logged below (method, path, status, milliseconds). Press Ctrl+C to stop."]
        sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m azext_communication.emulator`."""
    args = build_parser().parse_args(argv)
    restore_logging = _setup_logging(args.log_level)
    try:
        return run_emulator(host=args.host, port=args.port, data_dir=args.data_dir, access_key=args.access_key,
                            throttle=args.throttle, json_output=args.json_output, faults=args.fault,
                            request_timeout=args.request_timeout, idle_timeout=args.idle_timeout,
                            events=EventSettings(tuple(args.event_webhooks or ()), args.events_config,
                                                 args.event_retry_scale, args.events_include_actor,
                                                 args.events_typing, args.events_sequence_id),
                            retention_day_seconds=args.retention_day_seconds, cors_origins=args.cors_origins)
    finally:
        restore_logging()
