"""The command table as azdev's linter would check it: help everywhere, parsing examples, confirmations,
kebab-case options, no positionals; and that loading it imports no Communication SDK."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from cli_harness import ROOT, load_command_table

EXPECTED_COMMANDS = {
    "communication chat thread create", "communication chat thread list", "communication chat thread show",
    "communication chat thread update", "communication chat thread update-topic", "communication chat thread delete",
    "communication chat participant add", "communication chat participant list",
    "communication chat participant remove",
    "communication chat message send", "communication chat message list", "communication chat message get",
    "communication chat message update", "communication chat message delete",
    "communication chat message watch", "communication chat message wait",
    "communication chat message receipt send", "communication chat message receipt list",
    "communication chat typing send",
    "communication emulator start", "communication emulator status", "communication emulator trust",
    "communication emulator subscription create", "communication emulator subscription list",
    "communication emulator subscription show", "communication emulator subscription delete",
} | {f"communication {g} {c}" for g in ("identity", "user-identity")
     for c in ("user create", "user delete", "token issue", "token revoke", "token get-for-teams-user")}
CONFIRMED = {name for name in EXPECTED_COMMANDS if name.endswith((" delete", " remove", " revoke"))}
GLOBAL_DESTS = {"_log_verbosity_verbose", "_log_verbosity_debug", "_log_verbosity_only_show_errors", "_output_format",
                "_jmespath_query", "help", "_subscription", "cmd", "yes", "_cache", "_ids"}


@pytest.fixture(scope="module")
def cli():
    return load_command_table()


@pytest.fixture(scope="module")
def loader(cli):
    return cli.invocation.commands_loader


def _help_entry(name: str) -> dict:
    import yaml
    from knack.help_files import helps

    assert name in helps, f"no help for '{name}'"
    return yaml.safe_load(helps[name])


def test_command_table_has_exactly_the_contract_commands(loader):
    names = {n for n in loader.command_table if n.startswith("communication")}
    assert names == EXPECTED_COMMANDS


def test_loading_the_command_table_imports_no_sdk():
    """Fresh interpreter: loading table, arguments and parsers must not import azure.communication."""
    code = (
        "import sys; sys.path.insert(0, 'tests'); import cli_harness as h; h.load_command_table(); "
        "print(sorted(m for m in sys.modules if m.startswith('azure.communication')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_every_group_and_command_has_help(loader):
    groups = set()
    for name in loader.command_table:
        words = name.split()
        groups.update(" ".join(words[:i]) for i in range(1, len(words)))
        entry = _help_entry(name)
        assert entry["type"] == "command"
        assert entry.get("short-summary", "").strip(), name
    for group in groups:
        entry = _help_entry(group)
        assert entry["type"] == "group", group
        assert entry.get("short-summary", "").strip(), group


def test_every_parameter_has_help(loader):
    for name, command in loader.command_table.items():
        for dest, argument in command.arguments.items():
            if dest in GLOBAL_DESTS or argument.type.settings.get("help") == "==SUPPRESS==":
                continue
            assert argument.type.settings.get("help"), f"{name}: parameter '{dest}' has no help"


def test_options_are_kebab_case_and_there_are_no_positionals(loader):
    for name, command in loader.command_table.items():
        for dest, argument in command.arguments.items():
            options = argument.type.settings.get("options_list") or []
            if dest in GLOBAL_DESTS:
                continue
            assert options, f"{name}: '{dest}' is positional"
            for option in options:
                option = getattr(option, "target", option)
                assert option.startswith("-"), f"{name}: '{dest}' is positional"
                long = option.lstrip("-")
                if option.startswith("--"):
                    assert long == long.lower() and "_" not in long, f"{name}: option {option} is not kebab-case"


def test_thread_option_has_short_form_everywhere(loader):
    for name, command in loader.command_table.items():
        if "thread_id" in command.arguments:
            assert command.arguments["thread_id"].type.settings["options_list"] == ["--thread", "-t"], name


def test_list_commands_take_max_items(loader):
    for name, command in loader.command_table.items():
        if name.endswith(" list"):
            assert "max_items" in command.arguments, name


def test_delete_and_remove_commands_confirm(loader):
    for name in CONFIRMED:
        command = loader.command_table[name]
        assert command.confirmation, f"{name} does not ask for confirmation"
        assert "yes" in command.arguments


def test_token_commands_are_marked_sensitive(loader):
    for name, command in loader.command_table.items():
        if name.endswith(("token issue", "token get-for-teams-user")):
            assert command.sensitive_info, name


def test_every_command_has_examples_that_parse(cli, loader):
    parser = cli.invocation.parser
    for name in loader.command_table:
        entry = _help_entry(name)
        examples = entry.get("examples") or []
        assert examples, f"{name} has no example"
        for example in examples:
            text = " ".join(example["text"].split())
            assert text.startswith(f"az {name} ") or text == f"az {name}", f"example does not name {name}: {text}"
            argv = shlex.split(text)[1:]
            try:
                namespace = parser.parse_args(argv)
            except SystemExit as ex:  # argparse refusal
                pytest.fail(f"example of {name} does not parse: {text} ({ex})")
            assert namespace.command == name


def test_metadata_declares_stable_and_min_core():
    """The oldest core declared is one `make test-compat COMPAT_CORE=...` runs every command on: 2.57 (2.56 and
    older have no `AzCommandGroup.sensitive`); `make test` runs them on 2.60."""
    meta = json.loads((ROOT / "azext_communication" / "azext_metadata.json").read_text())
    makefile = (ROOT / "Makefile").read_text()
    assert meta["azext.minCliCoreVersion"] == "2.57.0"
    assert f"COMPAT_CORE={meta['azext.minCliCoreVersion']}" in makefile
    assert "COMPAT_CORE  ?= 2.60.0" in makefile
    assert meta["azext.isPreview"] is False


def test_no_group_or_command_is_preview_or_experimental(loader):
    """Not a preview any more: core would print "Command group ... is in preview" on every call."""
    marked = [name for name, cmd in loader.command_table.items() if name.startswith("communication")
              and (getattr(cmd, "preview_info", None) or getattr(cmd, "experimental_info", None))]
    marked += [name for name, group in loader.command_group_table.items() if name.startswith("communication")
               and (group.group_kwargs.get("preview_info") or group.group_kwargs.get("experimental_info")
                    or group.group_kwargs.get("is_preview") or group.group_kwargs.get("is_experimental"))]
    assert marked == []


def test_user_agent_starts_with_extension_version():
    from azext_communication._client_factory import user_agent
    from azext_communication._version import VERSION

    assert user_agent().startswith(f"AzureCli/{VERSION} ")


def test_recordings_folder_is_in_tests():
    assert Path(__file__).resolve().parent.name == "tests"


def test_every_validator_exits_2_on_bad_usage(loader):
    """Core exits 1 for an error a validator raises; ours are wrapped so that a bad value exits 2 like core's own
    usage errors (any validator added later must be wrapped too, or this fails)."""
    seen = 0
    for name, command in loader.command_table.items():
        for dest, argument in command.arguments.items():
            validator = argument.type.settings.get("validator")
            if validator is None or dest in GLOBAL_DESTS or not validator.__module__.startswith("azext_"):
                continue
            seen += 1
            assert getattr(validator, "exits_as_usage", False), f"{name}: the validator of '{dest}' is not wrapped " \
                "in @usage_errors"
    assert seen > 40


def _parameter_help(text: str) -> dict[str, str]:
    """Option -> its whole description, from the text `az ... --help` prints (continuation lines joined)."""
    entries: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("    -") and " : " in line:
            current, _, description = line.strip().partition(" : ")
            entries[current] = description.strip()
        elif current and line.startswith(" " * 8) and line.strip():
            entries[current] += " " + line.strip()
        else:
            current = None
    return entries


def test_no_parameter_help_says_the_same_thing_twice(loader):
    """Core appends 'Default: X.' from the handler's signature; help that also says it reads it twice."""
    import contextlib
    import io
    import re

    from cli_harness import run

    checked = 0
    for name in loader.command_table:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            run(*name.split(), "--help")
        entries = _parameter_help(out.getvalue())
        assert entries, f"no parameters found in the help of {name}"
        for option, description in entries.items():
            sentences = [s.strip().lower() for s in re.split(r"(?<=\.)\s+", description) if s.strip()]
            repeated = {s for s in sentences if sentences.count(s) > 1}
            assert not repeated, f"{name} {option}: says {repeated} twice: {description}"
            assert description.count("Default:") <= 1, f"{name} {option}: two defaults: {description}"
            checked += 1
    assert checked > 100
