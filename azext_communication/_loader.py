"""The command loader core instantiates (through `azext_communication.COMMAND_LOADER_CLS`).

Nothing here may import the Communication SDKs: they are imported by the client factories and handlers only,
when a command runs.
"""

from __future__ import annotations

from typing import Any

from azure.cli.core import AzCommandsLoader

from azext_communication._help import helps  # noqa: F401  (registers the help texts)


class CommunicationCommandsLoader(AzCommandsLoader):
    """Loads the `az communication` command table and its arguments."""

    # Core's command index maps each command to `loader.__module__` and finds the extension by that name on the
    # next run, so the loader must look like it lives in the extension's top package.
    __module__ = "azext_communication"

    def __init__(self, cli_ctx: Any = None) -> None:
        from azure.cli.core.commands import CliCommandType

        from azext_communication._errors import install_log_redaction

        custom = CliCommandType(operations_tmpl="azext_communication.custom#{}")
        super().__init__(cli_ctx=cli_ctx, custom_command_type=custom)
        install_log_redaction()  # logging is configured by now: redact secrets from whatever it prints

    def load_command_table(self, args: Any) -> dict:
        from azext_communication.commands import load_command_table

        load_command_table(self, args)
        return self.command_table

    def load_arguments(self, command: Any) -> None:
        from azext_communication._params import load_arguments

        load_arguments(self, command)

