"""Command handlers: thin on purpose.

Arguments arrive parsed and validated (see _validators.py) and the client is built by _client_factory.py;
a handler calls the SDK once and shapes the output once. SDK imports stay inside the functions so that
loading the command table never imports azure.communication.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from azure.cli.core.azclierror import UnclassifiedUserFault

from ._validators import page_size


def _take(items: Iterable[Any], max_items: int | None) -> list[Any]:
    """Read at most `max_items` (islice stops before the next page is requested), or everything, already in
    output form (see _output.py: core would otherwise re-walk every item, a third of `message list`)."""
    from ._output import plain_list

    return plain_list(items if max_items is None else itertools.islice(items, max_items))


def _user(raw_id: str) -> Any:
    from azure.communication.chat import CommunicationUserIdentifier

    return CommunicationUserIdentifier(raw_id)


def _iso(value: Any) -> Any:
    """ISO 8601 for an `expires_on` the identity SDK returns as a datetime or as the service's string."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).isoformat()
        except ValueError:
            return value
    return value


# ---------------------------------------------------------------------------------------------- chat threads
def list_threads(client: Any, start_time: datetime | None = None, max_items: int | None = None) -> list[Any]:
    """Threads the caller is or was a participant of."""
    return _take(client.list_chat_threads(results_per_page=page_size(max_items), start_time=start_time), max_items)


def update_topic(client: Any, topic: str) -> None:
    """Rename the thread (the service adds a topicUpdated system message)."""
    client.update_topic(topic=topic)


def delete_thread(client: Any, thread_id: str) -> None:
    """Delete the thread for everybody."""
    client.delete_chat_thread(thread_id)


# ---------------------------------------------------------------------------------------------- participants
def remove_participant(client: Any, user: str) -> None:
    """Remove one user from the thread.

    The service answers 404 both for a thread that does not exist and for a user who is not in it; on a 404 the
    thread is looked up once, so that the error names what is missing (exit 3 either way)."""
    from azure.core.exceptions import ResourceNotFoundError

    from ._errors import update_error_context

    try:
        client.remove_participant(_user(user))
    except ResourceNotFoundError:
        try:
            client.get_properties()
        except ResourceNotFoundError:
            update_error_context(user=None)  # the thread itself is missing: say so, not "participant not found"
        raise


# ---------------------------------------------------------------------------------------------- messages
def send_message(client: Any, content: str, message_type: str = "text", display_name: str | None = None,
                 metadata: dict[str, str] | None = None) -> dict[str, str]:
    """Send a text or html message; returns its id."""
    result = client.send_message(content, chat_message_type=message_type, sender_display_name=display_name,
                                 metadata=metadata)
    return {"id": result.id}


def list_messages(client: Any, start_time: datetime | None = None, max_items: int | None = None) -> list[Any]:
    """Messages newest first, system messages included."""
    return _take(client.list_messages(results_per_page=page_size(max_items), start_time=start_time), max_items)


def get_message(client: Any, message_id: str) -> Any:
    """One message (a deleted one shows deletedOn)."""
    return client.get_message(message_id)


def update_message(client: Any, message_id: str, content: str | None = None,
                   metadata: dict[str, str] | None = None) -> None:
    """Edit content and/or metadata of one's own message."""
    client.update_message(message_id, content=content, metadata=metadata)


def delete_message(client: Any, message_id: str) -> None:
    """Delete one's own message (the service keeps it with deletedOn set)."""
    client.delete_message(message_id)


def send_read_receipt(client: Any, message_id: str) -> None:
    """Mark a message (and everything before it) as read."""
    client.send_read_receipt(message_id)


def list_read_receipts(client: Any, skip: int | None = None, max_items: int | None = None) -> list[Any]:
    """The latest read receipt of each participant."""
    return _take(client.list_read_receipts(results_per_page=page_size(max_items), skip=skip), max_items)


def send_typing(client: Any, display_name: str | None = None) -> None:
    """Tell the other participants that the user is typing."""
    client.send_typing_notification(sender_display_name=display_name)


# ---------------------------------------------------------------------------------------------- conversations
_OUTAGE_WORDS = {"refused": "connection refused", "reset": "connection closed", "timeout": "timed out",
                 "dns": "host name not resolved"}


def _went_away(ex: BaseException, delay: float) -> None:
    """One line on stderr when the service stops answering (the poller keeps the position: nothing is lost)."""
    from knack.log import get_logger

    from ._errors import connection_failure, get_error_context

    endpoint = get_error_context().get("endpoint") or "The service"
    status = getattr(ex, "status_code", None)
    if status == 429:
        what = f"{endpoint} is throttling requests (429)"
    elif status:
        what = f"{endpoint} answered {status}"
    else:
        what = f"{endpoint} is not answering ({_OUTAGE_WORDS.get(connection_failure(ex) or '', 'no answer')})"
    get_logger(__name__).warning("%s; polling on until it is back (nothing is lost), next poll in %.1f s.",
                                 what, delay)


def _came_back(seconds: float) -> None:
    """One line on stderr when the service answers again after an outage."""
    from knack.log import get_logger

    from ._errors import get_error_context

    endpoint = get_error_context().get("endpoint") or "The service"
    get_logger(__name__).warning("%s is back after %.0f s; going on from where it was.", endpoint, seconds)


def _follow(client: Any, after: str | None, start_time: datetime | None, interval: float,
            timeout: float | None) -> Iterable[dict[str, Any]]:
    """The thread's new messages in output form (the shape of a `message list` item), oldest first."""
    from azure.cli.core.azclierror import ForbiddenError, ResourceNotFoundError

    from ._errors import get_error_context
    from ._output import plain
    from ._poller import MessageNotInThreadError, MessagePoller

    caller = get_error_context().get("caller")
    poller = MessagePoller(client, after=after, start_time=start_time)
    try:
        for message in poller.follow(interval, timeout, unreachable=_unreachable, on_outage=_went_away,
                                      on_back=_came_back):
            item = plain(message)
            yield item
            if caller and _removes(item, caller):
                raise ForbiddenError(f"The user '{caller}' was removed from chat thread '{client.thread_id}'; "
                                     "there is nothing more to follow.")
    except MessageNotInThreadError as ex:
        raise ResourceNotFoundError(
            f"Message '{ex.message_id}' (--after) was not found in chat thread '{client.thread_id}'.") from None


def _unreachable(ex: BaseException) -> bool:
    """A refused connection or an unknown host name: a wrong endpoint, unless the service answered before."""
    from ._errors import PERMANENT_FAILURES, connection_failure

    return connection_failure(ex) in PERMANENT_FAILURES


def _removes(message: dict[str, Any], raw_id: str) -> bool:
    """Whether `message` is the participantRemoved message that removes `raw_id`."""
    if message.get("type") != "participantRemoved":
        return False
    participants = (message.get("content") or {}).get("participants") or []
    return any(((p.get("identifier") or {}).get("rawId")) == raw_id for p in participants)


# Ctrl-C ends `watch` and `wait` alike: no traceback, no error line, exit 130 (what a shell reports for a command
# ended by SIGINT), so a script tells it from success (0), a `wait` timeout (1), bad usage (2) and not found (3).
INTERRUPTED_EXIT_CODE = 130


def watch_messages(cmd: Any, client: Any, after: str | None = None, start_time: datetime | None = None,
                   interval: float = 2.0, timeout: float | None = None) -> None:
    """Print each new message as it arrives, until --timeout (exit 0) or Ctrl-C (exit 130)."""
    from ._format import message_line_renderer, terminal_width
    from ._stream import StreamWriter, take_query

    out = cmd.cli_ctx.out_file
    width = terminal_width(out)  # a file or a pipe gets whole lines
    writer = StreamWriter(out, cmd.cli_ctx.invocation.data.get("output"), take_query(cmd.cli_ctx),
                          table_line=message_line_renderer(width))
    try:
        for item in _follow(client, after, start_time, interval, timeout):
            writer.write(item)
    except KeyboardInterrupt:
        raise SystemExit(INTERRUPTED_EXIT_CODE) from None
    except BrokenPipeError:  # the reader went away (`watch | head -n 5`): end quietly, as `tail -f | head` does
        _silence_stdout()
    return None


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail on the closed pipe."""
    import os
    import sys

    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def wait_message(client: Any, custom: Any = None, sender: str | None = None, contains: str | None = None,
                 after: str | None = None, start_time: datetime | None = None, interval: float = 2.0,
                 timeout: float | None = None) -> dict[str, Any]:
    """The first new message that matches every condition given (none given: the next new message); exit 1 when
    none did within --timeout, 130 on Ctrl-C."""
    from ._conditions import message_matcher

    timeout = 300.0 if timeout is None else timeout
    matches = message_matcher(custom, sender, contains)
    try:
        for item in _follow(client, after, start_time, interval, timeout):
            if matches(item):
                return item
    except KeyboardInterrupt:
        raise SystemExit(INTERRUPTED_EXIT_CODE) from None
    raise UnclassifiedUserFault(
        f"No message in chat thread '{client.thread_id}' matched within {timeout:g} seconds.")


# ---------------------------------------------------------------------------------------------- identity
def create_user(client: Any) -> Any:
    """A new Communication Services user ({"rawId", "properties": {"id"}})."""
    return client.create_user()


def delete_user(client: Any, user: str) -> None:
    """Delete a user and revoke all of its tokens."""
    client.delete_user(_user(user))


def issue_token(client: Any, scopes: list[str], user: str | None = None,
                expires_in_minutes: int | None = None) -> dict[str, Any]:
    """Issue a token for `user`, or for a new user when none is given."""
    kwargs = {"token_expires_in": timedelta(minutes=expires_in_minutes)} if expires_in_minutes else {}
    if user:
        token = client.get_token(_user(user), scopes, **kwargs)
        user_id = user
    else:
        identifier, token = client.create_user_and_token(scopes, **kwargs)
        user_id = identifier.raw_id
    return {"user_id": user_id, "token": token.token, "expires_on": _iso(token.expires_on)}


def revoke_tokens(client: Any, user: str) -> None:
    """Revoke every token issued to the user so far."""
    client.revoke_tokens(_user(user))


def get_token_for_teams_user(client: Any, aad_token: str, client_id: str, user_object_id: str) -> dict[str, Any]:
    """Exchange a Microsoft Entra token of a Teams user for a Communication Services token."""
    from ._errors import update_error_context

    update_error_context(teams_exchange=True)  # a 401 is then about the Entra token, not the access key
    token = client.get_token_for_teams_user(aad_token, client_id, user_object_id)
    return {"token": token.token, "expires_on": _iso(token.expires_on)}
