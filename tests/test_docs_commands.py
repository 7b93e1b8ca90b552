"""The `az communication ...` commands the READMEs show, as a reader would copy them: each names a command that
exists and only options that command has (parsed by az's own parser, as the help examples are in
test_cli_commands.py)."""

from __future__ import annotations

import itertools
import re
import shlex
from pathlib import Path

import pytest
from cli_harness import ROOT, load_command_table

DOCS = (ROOT / "README.md", ROOT / "azext_communication" / "emulator" / "README.md")
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_INLINE = re.compile(r"`(az communication [^`]+)`")


def _shell_words(text: str) -> list[str]:
    """The words of shell text; operators ( ) | & ; < > are words of their own, comments are dropped."""
    lexer = shlex.shlex(text.replace("$(", " ( "), posix=True, punctuation_chars=True)
    lexer.wordchars += "$:@.=/?*[]{}',+-~%^!"
    return list(lexer)


def _commands(text: str) -> list[list[str]]:
    """The arguments of every `az communication ...` command in the fenced blocks and the inline code."""
    sources = [block.replace("\\\n", " ") for block in _FENCE.findall(text)] + _INLINE.findall(text)
    found = []
    for source in sources:
        for line in source.splitlines():
            words = _shell_words(line)
            for i in [i for i, w in enumerate(words[:-1]) if w == "az" and words[i + 1] == "communication"]:
                argv = list(itertools.takewhile(lambda w: not set(w) <= set("()|&;<>"), words[i + 1:]))
                if "..." not in argv[:4]:  # `az communication chat ...` names a group, not a command
                    found.append(argv)
    return found


def test_the_extraction_sees_the_readme_commands():
    commands = [" ".join(argv) for argv in _commands((ROOT / "README.md").read_text())]
    assert "communication chat thread update -t $THREAD --retention-days 90" in commands
    assert "communication emulator status --query emulators[0].exports[] -o tsv" in commands  # inline code
    assert "communication chat thread create --topic Release planning -o tsv" in commands  # THREAD=$(...)
    assert "communication chat message wait -t $THREAD --after $id --timeout 60 --custom senderDisplayName=='Bot' " \
           "&& contains(content.message, 'pong') --query content.message -o tsv" in commands  # continued, quoted
    assert len(commands) > 60


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_documented_command_parses(doc: Path):
    cli = load_command_table()
    parser = cli.invocation.parser
    table = cli.invocation.commands_loader.command_table
    refused = []
    for argv in _commands(doc.read_text()):
        command = "az " + " ".join(argv)
        try:
            namespace = parser.parse_args(argv)
        except SystemExit:
            refused.append(command)
            continue
        assert namespace.command in table, command
    assert not refused, f"{doc.name}: commands az does not parse:\n" + "\n".join(refused)


def test_history_is_well_formed_rst_without_merge_leftovers():
    """A merge once left a `=======` line in HISTORY.rst and shortened its title's underline (long_description)."""
    lines = (ROOT / "HISTORY.rst").read_text().splitlines()
    for n, line in enumerate(lines):
        assert not re.fullmatch(r"(<{7}|={7}|>{7})( .*)?", line), f"HISTORY.rst:{n + 1}: merge marker {line!r}"
        if n and line and len(set(line)) == 1 and line[0] in "=+-~" and lines[n - 1].strip():
            assert len(line) >= len(lines[n - 1]), f"HISTORY.rst:{n + 1}: underline shorter than {lines[n - 1]!r}"


def test_the_emulator_readme_names_every_option_and_what_az_start_lacks():
    """The usage block of the emulator's README lists every option of `python -m azext_communication.emulator`;
    the options `az communication emulator start` does not take are the ones the README says it lacks."""
    from azext_communication.emulator.cli import build_parser

    readme = (ROOT / "azext_communication" / "emulator" / "README.md").read_text()
    usage = readme.split("```", 2)[1]
    options = {o for action in build_parser()._actions for o in action.option_strings if o != "--help"} - {"-h"}
    assert options == set(re.findall(r"--[a-z][a-z-]*", usage.split("az communication emulator start")[0]))
    cli = load_command_table()
    start = cli.invocation.commands_loader.command_table["communication emulator start"]
    az_options = {o for argument in start.arguments.values() for o in argument.type.settings.get("options_list", ())
                  if isinstance(o, str)}
    said = re.search(r"az communication emulator start \.\.\. +# the same( options|, without (.*))$", usage, re.M)
    assert said and options - az_options == set(re.findall(r"--[a-z][a-z-]*", said.group(2) or ""))


def test_help_names_the_az_config_keys_as_az_config_set_takes_them():
    """`communication.endpoint`, as the errors and the README say, not the config file's `[communication] endpoint`."""
    load_command_table()
    from knack.help_files import helps

    texts = {name: text for name, text in helps.items() if name.startswith("communication")}
    assert not [name for name, text in texts.items() if "[communication]" in text]
    assert "communication.endpoint/communication.access_token" in texts["communication chat"]
    assert "communication.connection_string" in texts["communication identity"]
