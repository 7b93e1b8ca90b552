"""Run `az` in-process against this checkout, in an isolated az config folder.

Why in-process: it is fast enough to run every scenario twice (recorded and live), gives the parsed result
(`cli.result.result`) instead of text, and lets vcrpy see every request. The environment is prepared before
azure.cli.core is imported: core reads the extension folders and the config folder when it is imported.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(tempfile.mkdtemp(prefix="azext-communication-cli-"))

if "azure.cli.core" in sys.modules and not os.environ.get("AZURE_EXTENSION_DEV_SOURCES"):
    raise RuntimeError("cli_harness must be imported before azure.cli.core (core reads its folders at import)")

# Variables the commands read; none may leak from the developer's shell into a test.
COMMUNICATION_VARIABLES = (
    "AZURE_COMMUNICATION_ENDPOINT",
    "AZURE_COMMUNICATION_ACCESS_TOKEN",
    "AZURE_COMMUNICATION_CONNECTION_STRING",
    "AZURE_COMMUNICATION_TIMEOUT",
)
for _name in COMMUNICATION_VARIABLES + ("AZURE_EXTENSION_DIR", "AZURE_EXTENSION_SYS_DIR", "AZURE_HTTP_USER_AGENT"):
    os.environ.pop(_name, None)
os.environ.update({
    "AZURE_CONFIG_DIR": str(CONFIG_DIR),
    "AZURE_EXTENSION_DEV_SOURCES": str(ROOT),
    "AZURE_CORE_COLLECT_TELEMETRY": "no",
    "AZURE_CORE_NO_COLOR": "true",
    "AZURE_CORE_ONLY_SHOW_ERRORS": "false",
    "AZURE_CORE_DISABLE_CONFIRM_PROMPT": "false",
})

_READY = False


def ensure_egg_info() -> None:
    """Core only sees a dev source that holds an egg-info; make it once if the checkout has none."""
    if any(ROOT.glob("*.egg-info")):
        return
    subprocess.run([sys.executable, "setup.py", "--quiet", "egg_info"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def prepare() -> None:
    """Egg-info plus one first CLI object, created without network: the first CLI object per config folder
    would otherwise send a version-check request (recorded, or refused in playback)."""
    global _READY
    if _READY:
        return
    ensure_egg_info()
    from azure.cli.core import get_default_cli, util

    # the version check's source: a storage account since core 2.66 or so, GitHub before (2.60)
    source = next(n for n in ("_update_latest_from_ame_storage", "_update_latest_from_github") if hasattr(util, n))
    with mock.patch.object(util, source, side_effect=lambda v: (v, False)):
        get_default_cli()
    _READY = True


@dataclass
class CliResult:
    """What one `az` invocation produced."""

    args: list[str]
    exit_code: int
    result: Any
    stdout: str
    stderr: str
    error: BaseException | None = None
    extra: dict = field(default_factory=dict)

    @property
    def error_lines(self) -> list[str]:
        """The `ERROR:` lines on stderr."""
        return [line for line in self.stderr.splitlines() if line.startswith("ERROR")]

    def __repr__(self) -> str:  # readable assertion failures
        return (f"CliResult(args={self.args!r}, exit_code={self.exit_code}, result={self.result!r}, "
                f"stderr={self.stderr[-1500:]!r})")


@contextlib.contextmanager
def environment(values: dict[str, str | None] | None) -> Iterator[None]:
    """Set (or, with None, remove) variables for one invocation and restore them after."""
    values = values or {}
    saved = {k: os.environ.get(k) for k in values}
    try:
        _apply(values)
        yield
    finally:
        _apply(saved)


def _apply(values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@contextlib.contextmanager
def _log_to(stream: io.StringIO) -> Iterator[None]:
    """Send the CLI's warnings and errors to `stream` as `LEVEL: message`, as az prints them.

    knack configures its console handlers only when the root logger has none; under pytest it has, so the
    harness installs its own handler (and a placeholder root handler outside pytest, so knack stays out)."""
    root, cli_logger = logging.getLogger(), logging.getLogger("cli")
    placeholder = logging.NullHandler()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root.addHandler(placeholder)
    cli_logger.addHandler(handler)
    try:
        yield
    finally:
        cli_logger.removeHandler(handler)
        root.removeHandler(placeholder)


def run(*args: str, env: dict[str, str | None] | None = None) -> CliResult:
    """Invoke `az <args>` in-process; argparse exits (usage errors, --help) become exit codes."""
    prepare()
    from azure.cli.core import get_default_cli

    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    cli = get_default_cli()
    saved_out, cli.out_file = cli.out_file, out  # streaming commands write to cli.out_file as they go
    with environment(env), contextlib.redirect_stderr(err), _log_to(err):
        try:
            exit_code = cli.invoke(argv, out_file=out)
        except SystemExit as ex:
            exit_code = ex.code if isinstance(ex.code, int) else 1
        finally:
            cli.out_file = saved_out
    result = getattr(cli.result, "result", None)
    error = getattr(cli.result, "error", None)
    return CliResult(argv, exit_code, result, out.getvalue(), err.getvalue(), error)


def chat_user(emulator: Any) -> tuple[dict[str, str], str]:
    """Variables that point az at the session emulator as a new user with a chat token, and that user's id."""
    env = {"REQUESTS_CA_BUNDLE": emulator.ca_bundle, "AZURE_COMMUNICATION_CONNECTION_STRING":
           emulator.connection_string, "AZURE_COMMUNICATION_ENDPOINT": emulator.endpoint.rstrip("/")}
    issued = run("communication", "identity", "token", "issue", "--scope", "chat", env=env)
    assert issued.exit_code == 0, issued
    return {**env, "AZURE_COMMUNICATION_ACCESS_TOKEN": issued.result["token"]}, issued.result["user_id"]


def config_file() -> Path:
    """The az config file of the test config folder (`az config set` writes here)."""
    return CONFIG_DIR / "config"


def load_command_table() -> Any:
    """Load the `communication` command table, its arguments and parsers the way core does for
    `az communication ...` (only this extension is loaded); returns the CLI object."""
    prepare()
    from azure.cli.core import get_default_cli
    from azure.cli.core.commands import register_cache_arguments
    from azure.cli.core.commands.arm import register_global_subscription_argument, register_ids_argument

    cli = get_default_cli()
    register_global_subscription_argument(cli)
    register_ids_argument(cli)
    register_cache_arguments(cli)
    invoker = cli.invocation_cls(cli_ctx=cli, commands_loader_cls=cli.commands_loader_cls,
                                 parser_cls=cli.parser_cls, help_cls=cli.help_cls)
    cli.invocation = invoker
    invoker.data["command_string"] = ""
    loader = invoker.commands_loader
    loader.skip_applicability = True
    loader.load_command_table(["communication"])
    # Without a command index yet (a fresh config folder), core loads every module; keep only ours, as core
    # does before loading the arguments of the one command it runs (some of core 2.60's own fail to load).
    for table in (loader.command_table, loader.command_group_table, loader.cmd_to_loader_map):
        for name in [n for n in table if n != "communication" and not n.startswith("communication ")]:
            del table[name]
    loader.command_name = ""
    loader.load_arguments()
    invoker.parser.cli_ctx = cli
    invoker.parser.load_command_table(loader)
    return cli


def az_emulator_start(cwd: Path, *extra: str, env: dict[str, str]) -> tuple[subprocess.Popen, bytes]:
    """`az communication emulator start --port 0 --json EXTRA` as its own az process (it runs until stopped), with
    `env` on top of this harness's az settings; returns the process and its JSON line (b"" when it printed none
    within 60 s or exited first)."""
    proc_env = dict(os.environ, AZURE_CONFIG_DIR=str(CONFIG_DIR), AZURE_EXTENSION_DEV_SOURCES=str(ROOT),
                    AZURE_CORE_COLLECT_TELEMETRY="no", **env)
    proc = subprocess.Popen([sys.executable, "-m", "azure.cli", "communication", "emulator", "start", "--port", "0",
                             "--json", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=proc_env,
                            cwd=str(cwd))
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline, line = time.monotonic() + 60, b""
    while time.monotonic() < deadline and not line.endswith(b"\n") and proc.poll() is None:
        if sel.select(timeout=0.5):
            line += proc.stdout.readline()
    sel.close()
    return proc, line
