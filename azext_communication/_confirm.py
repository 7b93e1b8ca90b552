"""Confirmation prompts that say what will be removed.

Why: core's default prompt ("Are you sure you want to perform this operation?") does not say which thread,
message, participant or user is about to go, and a wrong `-t` from the shell history is easy to miss. knack calls
a callable `confirmation` with the parsed arguments (before the validators run, so values are as typed) and takes
its answer; `--yes` and `core.disable_confirm_prompt` skip it as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PROMPTS = {
    "thread delete": "Delete chat thread '{thread_id}' for every participant?",
    "participant remove": "Remove participant '{user}' from chat thread '{thread_id}'?",
    "message delete": "Delete message '{message_id}' from chat thread '{thread_id}'?",
    "user delete": "Delete user '{user}', revoke all of its tokens and delete its data?",
    "token revoke": "Revoke every access token issued to user '{user}'?",
    "subscription delete": "Delete event subscription '{name}' of the running emulator?",
}


def _value(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    return " ".join(str(value).split()) if value not in (None, "") else "?"


def confirm(action: str) -> Callable[[dict[str, Any]], bool]:
    """The `confirmation` of a command that removes something: a y/n prompt naming what `action` removes."""
    template = PROMPTS[action]

    def ask(command_args: dict[str, Any]) -> bool:
        from knack.log import get_logger
        from knack.prompting import NoTTYException, prompt_y_n

        fields = {key: _value(command_args, key) for key in ("thread_id", "user", "message_id", "name")}
        try:
            return prompt_y_n(template.format(**fields))
        except NoTTYException:
            get_logger(__name__).warning("Unable to prompt for confirmation as no tty available. Use --yes.")
            return False

    ask.__name__ = f"confirm_{action.replace(' ', '_')}"
    return ask
