"""Mapping of azure-core / SDK exceptions to azure-cli error classes.

Why: core's generic mapping prints multi-line SDK messages, tracebacks for the SDK's ValueError/KeyError, and a
ClientRequestError for a refused connection. Users need one line that says what went wrong, which exit code
(3 for not found), and never a token or key. The command's client factory records what the command was about
(thread, message, user, endpoint) so the messages can name it.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from typing import Any, NoReturn

from azure.cli.core.azclierror import (
    AzCLIError,
    AzureConnectionError,
    AzureInternalError,
    AzureResponseError,
    BadRequestError,
    ForbiddenError,
    InvalidArgumentValueError,
    ResourceNotFoundError,
    UnauthorizedError,
    UnclassifiedUserFault,
)

from ._settings import NOT_ACS_TOKEN
from ._validators import USAGE_ERRORS, exit_usage

_CONTEXT: ContextVar[dict[str, Any] | None] = ContextVar("communication_error_context", default=None)

TLS_HINT = (
    "For a local emulator, trust its certificate: export REQUESTS_CA_BUNDLE=<caBundle path printed by "
    "'az communication emulator start'>."
)
_SECRET_PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_+/=-]*\.[A-Za-z0-9_+/=-]+\.[A-Za-z0-9_+/=-]*"),  # JWTs
    re.compile(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_+/=-]{20,}\.[A-Za-z0-9_+/=-]*"),  # other token-shaped values
    # key=value shapes; a value starting with '<' is a placeholder in help text such as accesskey=<base64 key>
    re.compile(r"(?i)(accesskey=)(?!<)[^;\s'\"]+"),
    re.compile(r"(?i)(Signature=)(?!<)[^&\s'\"]+"),
    re.compile(r"(?i)(Bearer )(?!<)[^\s'\"]+"),
    re.compile(r"(?i)(\\?[\"']token\\?[\"']\s*:\s*\\?[\"'])[^\"'\\]+"),  # "token": "..." in JSON bodies
)


def set_error_context(**values: Any) -> None:
    """Remember what the running command is about (kind='chat'|'identity', endpoint, thread_id, ...)."""
    _CONTEXT.set({k: v for k, v in values.items() if v is not None})


def update_error_context(**values: Any) -> None:
    """Add to what the running command is about (a handler knows more than the client factory)."""
    set_error_context(**{**get_error_context(), **values})


def get_error_context() -> dict[str, Any]:
    """What the running command is about (empty before the client factory ran)."""
    return dict(_CONTEXT.get() or {})


def redact_secrets(text: str) -> str:
    """Replace anything that looks like a token, key or signature with <redacted> (line breaks are kept)."""
    text = str(text)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "<redacted>", text)
    return text


def redact(text: str) -> str:
    """Remove anything that looks like a token, key or signature, and fold the text onto one line."""
    return redact_secrets(" ".join(str(text).split()))


class RedactingFilter(logging.Filter):
    """Handler filter that redacts tokens, access keys and signatures from every record a handler emits.

    Why on handlers: a filter on a logger only sees records logged to that very logger, while azure-core,
    urllib3 and core's own error logging reach the console through the root and `cli` handlers. `--debug`
    prints request details and tracebacks; none of it may show a token or the access key.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot format is left to the handler's own error handling
            return True
        cleaned = redact_secrets(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_secrets(record.stack_info)
        return True


_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Attach the redacting filter to every handler configured so far (console, log file, core's command
    log); idempotent. Called when the command table loads and again when a client is built."""
    loggers = [logging.getLogger()] + [logger for logger in list(logging.Logger.manager.loggerDict.values())
                                       if isinstance(logger, logging.Logger)]
    for logger in loggers:
        for handler in list(logger.handlers):
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(_FILTER)


def _service_error(ex: Any) -> tuple[str | None, str]:
    """(code, message) from an HttpResponseError: the documented {"error":{...}} body, the PascalCase
    {"CommunicationError":{...}} variant the real service sends for 400s, or the HTTP reason."""
    error = getattr(ex, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None)
    if not message:
        response = getattr(ex, "response", None)
        try:
            body = json.loads(response.text()) if response is not None else None
        except Exception:  # any unreadable body falls back to the reason phrase
            body = None
        if isinstance(body, dict):
            inner = body.get("error") or body.get("CommunicationError") or body.get("Error") or {}
            if isinstance(inner, dict):
                code = code or inner.get("code") or inner.get("Code")
                message = inner.get("message") or inner.get("Message")
    if not message:
        message = getattr(ex, "reason", None) or str(ex).split("\n", 1)[0]
    return code, redact(message)


def _what_was_not_found(ctx: dict[str, Any]) -> str:
    """Name what a 404 was about, from the command's arguments."""
    thread, message, user = ctx.get("thread_id"), ctx.get("message_id"), ctx.get("user")
    if ctx.get("kind") == "identity":
        return f"User '{user}'" if user else "The identity resource"
    if message and thread:
        return f"Message '{message}' in chat thread '{thread}'"
    if user and thread:
        return f"Participant '{user}' in chat thread '{thread}'"
    if thread:
        return f"Chat thread '{thread}'"
    return "The requested resource"


# Service texts that only say that access was denied or a thing is missing, not why or which (the swagger's
# examples and texts seen from the real service): with these, the message adds possible causes itself.
_GENERIC_TEXTS = frozenset({
    "unauthorized", "forbidden", "not found", "notfound", "access denied", "request is not authorized",
    "denied by the resource provider", "user is not allowed to perform specified action", "permissions check failed",
    "initiator does not have permission to perform requested operation",
})
CHAT_403_CAUSES = ("Possible causes: the user is not (or no longer) a participant of the thread, is not the sender "
                   "of the message, or the token's scope is too narrow (chat.join tokens cannot create, rename or "
                   "delete threads).")
CHAT_401_CAUSES = ("Possible causes: it has expired, was revoked, its user was deleted, or it belongs to another "
                   "Communication Services resource.")
NEW_CHAT_TOKEN = "Get a new one with 'az communication identity token issue --scope chat --user <user id>'."
UNKNOWN_TOKEN_HINT = ("Likely cause: this endpoint does not know the token: it was issued by another resource or "
                      "emulator, or by this emulator before it was restarted without --data-dir (which forgets every "
                      "user and token).")
_LOOPBACK_HOSTS = ("localhost", "::1", "[::1]")


def is_local_endpoint(endpoint: str | None) -> bool:
    """Whether an endpoint is on this machine (where an emulator, not the service, answers)."""
    from urllib.parse import urlparse

    try:
        host = (urlparse(endpoint or "").hostname or "").lower()
    except ValueError:
        return False
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


def _unknown_token(message: str, ctx: dict[str, Any]) -> bool:
    """Whether a refused token looks unknown to the endpoint: the service says its signature is invalid, or a local
    endpoint (an emulator) refuses it without saying why. The emulator signs its tokens with a key made at
    start-up, so after a restart without --data-dir it answers "signature is invalid" for every earlier token."""
    if "signature" in message.lower():
        return True
    return is_local_endpoint(ctx.get("endpoint")) and not says_why(message, 401)


def says_why(message: str | None, status: int | None = None) -> bool:
    """Whether the service's text tells more than its status does (else the message adds possible causes)."""
    text = (message or "").strip().rstrip(".").strip().lower()
    return bool(text) and text not in _GENERIC_TEXTS and text != str(status) \
        and not text.startswith("operation returned an invalid status")


def _reason(message: str) -> str:
    """The service's text as the first clause of a sentence (its final period dropped)."""
    return message.strip().rstrip(".")


def _names_the_subject(message: str, ctx: dict[str, Any]) -> bool:
    """Whether a 404 text only repeats what our own message already names."""
    ids = [str(ctx[k]) for k in ("thread_id", "message_id", "user") if ctx.get(k)]
    return not says_why(message, 404) or any(i in message for i in ids)


_API_VERSION_CODES = frozenset({"unsupportedapiversion", "invalidapiversion", "apiversionunspecified"})
_API_VERSION_TEXT = re.compile(r"(?i)api[- ]?version")


def refuses_api_version(code: str | None, message: str | None) -> bool:
    """Whether a 400 says the request's api-version is unknown to the endpoint (the codes of ASP.NET API
    versioning, which the service and the emulator use, or a message about the api-version)."""
    return str(code or "").lower() in _API_VERSION_CODES or bool(_API_VERSION_TEXT.search(message or ""))


def _http_error(ex: Any, ctx: dict[str, Any]) -> AzCLIError:
    status = getattr(ex, "status_code", None)
    code, message = _service_error(ex)
    status_text = f"{status} {code}" if code and str(code) != str(status) else f"{status}"
    detail = f"{status_text}: {message}"
    identity = ctx.get("kind") == "identity"
    if status == 401:
        if ctx.get("teams_exchange"):
            return UnauthorizedError(
                f"The Microsoft Entra ID token was refused: {_reason(message)} ({status_text}). Get a fresh one for "
                "the Teams user (with the application's client id) and pass it with --aad-token."
            )
        if identity:
            return UnauthorizedError(
                f"The access key was refused: {_reason(message)} ({status_text}). Check --connection-string or "
                "AZURE_COMMUNICATION_CONNECTION_STRING (copy it again from the resource or the emulator output)."
            )
        causes = "" if says_why(message, status) else " " + CHAT_401_CAUSES
        if _unknown_token(message, ctx):
            causes += " " + UNKNOWN_TOKEN_HINT
        return UnauthorizedError(
            f"The access token was refused: {_reason(message)} ({status_text}).{causes} {NEW_CHAT_TOKEN}"
        )
    if status == 403:
        causes = "" if identity or says_why(message, status) else " " + CHAT_403_CAUSES
        return ForbiddenError(f"The caller is not allowed to do this: {_reason(message)} ({status_text}).{causes}")
    if status == 404:
        extra = "" if _names_the_subject(message, ctx) else f": {_reason(message)}"
        return ResourceNotFoundError(f"{_what_was_not_found(ctx)} was not found ({status_text}{extra}).")
    if status == 400 and ctx.get("api_version") and refuses_api_version(code, message):
        return BadRequestError(
            f"This command needs chat api-version {ctx['api_version']}, and {ctx.get('endpoint') or 'the endpoint'} "
            f"refused it ({detail})."
        )
    if status == 400:
        return BadRequestError(f"The service refused the request ({detail}).")
    if status == 413:
        return BadRequestError(
            f"The service refused the request as too large ({detail}): a chat message (content plus metadata) "
            "may hold at most 28 KiB."
        )
    if status == 429:
        return AzureResponseError(f"The service is still throttling requests after retries ({detail}).")
    if status is not None and status >= 500:
        return AzureInternalError(f"The service failed after retries ({detail}).")
    return AzureResponseError(f"The service returned an error ({detail}).")


def _exception_chain(ex: BaseException) -> list[BaseException]:
    """The exception, its inner_exception (azure-core) and its __cause__/__context__ chain."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [ex]
    while todo:
        cur = todo.pop()
        if cur is None or any(cur is s for s in seen) or len(seen) > 20:
            continue
        seen.append(cur)
        todo.extend([getattr(cur, "inner_exception", None), cur.__cause__, cur.__context__])
        todo.extend(a for a in getattr(cur, "args", ()) if isinstance(a, BaseException))
        reason = getattr(cur, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return seen


_NAME_RESOLUTION = ("name or service not known", "nodename nor servname", "getaddrinfo", "nameresolution",
                    "temporary failure in name resolution", "no address")
# Failures that never heal by trying again a moment later: retrying them only makes the user wait.
PERMANENT_FAILURES = frozenset({"certificate", "tls", "refused", "dns"})


def _chain_text(ex: BaseException) -> str:
    return " ".join(f"{type(e).__name__} {e}" for e in _exception_chain(ex))


def connection_failure(ex: BaseException) -> str | None:
    """What kind of failure a connection-level error is: 'certificate', 'tls', 'refused', 'dns', 'timeout',
    'reset', or None when it cannot tell."""
    text = _chain_text(ex)
    lowered = text.lower()
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in lowered:
        return "certificate"
    if "SSLError" in text or "[SSL" in text:
        return "tls"
    if "refused" in lowered:
        return "refused"
    if any(s in lowered for s in _NAME_RESOLUTION):
        return "dns"
    if "timed out" in lowered or "timeout" in lowered:
        return "timeout"
    if "reset" in lowered or "aborted" in lowered or "remotedisconnected" in lowered:
        return "reset"
    return None


_REASONS = {
    "refused": "connection refused: is the service or emulator running on that host and port?",
    "dns": "the host name could not be resolved",
    "timeout": "the connection timed out",
    "reset": "the connection was closed by the server",
}


def _connection_error(ex: BaseException, ctx: dict[str, Any]) -> AzCLIError:
    from azure.core.exceptions import ServiceResponseError, ServiceResponseTimeoutError

    endpoint = ctx.get("endpoint") or "the endpoint"
    kind = connection_failure(ex)
    if kind == "certificate":
        return AzureConnectionError(
            f"TLS verification failed for {endpoint}: its certificate is not trusted. {TLS_HINT}"
        )
    if kind == "tls":
        return AzureConnectionError(f"The TLS handshake with {endpoint} failed. {TLS_HINT}")
    if isinstance(ex, ServiceResponseError):
        # The request was sent: the service may have acted on it even though no answer arrived.
        token = ctx.get("idempotency_token")
        repeat = (f" Repeat the command with --idempotency-token {token} to get that thread rather than a second "
                  "one." if token else "")
        if isinstance(ex, ServiceResponseTimeoutError) or "read timed out" in _chain_text(ex).lower():
            timeout = ctx.get("timeout")
            waited = f"within {timeout:g} seconds " if timeout else ""
            return AzureConnectionError(
                f"{endpoint} did not answer {waited}(read timeout); the request may still have been processed. "
                f"Set AZURE_COMMUNICATION_TIMEOUT (seconds) to wait longer.{repeat}"
            )
        return AzureConnectionError(
            f"The connection to {endpoint} was closed before an answer arrived; the request may still have been "
            f"processed.{repeat}"
        )
    reason = _REASONS.get(kind or "") or redact(str(ex).split("\n", 1)[0])
    return AzureConnectionError(f"Could not reach {endpoint} ({reason}).")


def map_exception(ex: BaseException) -> BaseException:
    """Return the azure-cli error to raise for `ex` (unknown exceptions are returned unchanged: they are bugs)."""
    if isinstance(ex, AzCLIError):
        return ex
    from azure.core import exceptions as core_exc

    ctx = get_error_context()
    if isinstance(ex, core_exc.HttpResponseError) and getattr(ex, "status_code", None) is not None:
        return _http_error(ex, ctx)
    if isinstance(ex, (core_exc.ServiceRequestError, core_exc.ServiceResponseError)):
        return _connection_error(ex, ctx)
    if isinstance(ex, core_exc.DecodeError) or type(ex).__name__ == "DeserializationError":
        return AzureResponseError(
            f"The service at {ctx.get('endpoint') or 'the endpoint'} sent a response that could not be read."
        )
    if isinstance(ex, core_exc.AzureError):
        return AzureResponseError(redact(str(ex).split("\n", 1)[0]))
    if isinstance(ex, KeyError) and ex.args == ("exp",):
        return UnauthorizedError(NOT_ACS_TOKEN)
    if isinstance(ex, ValueError) and "Token is not formatted correctly" in str(ex):
        return UnauthorizedError(NOT_ACS_TOKEN)
    if isinstance(ex, ValueError):
        return InvalidArgumentValueError(redact(str(ex)))
    if isinstance(ex, (KeyError, TypeError)):
        return UnclassifiedUserFault(
            f"The request could not be completed ({type(ex).__name__}: {redact(str(ex))}); "
            "check that every id is a Communication Services user id."
        )
    return ex


def handle_exception(ex: BaseException) -> NoReturn:
    """`exception_handler` of every command: raise the mapped azure-cli error (core prints it on one line).

    A usage error raised by the extension's own code (a value only checkable once the command runs, e.g. a
    setting read by the client factory) exits 2 like one raised by a validator."""
    if isinstance(ex, USAGE_ERRORS):
        exit_usage(ex)
    mapped = map_exception(ex)
    if mapped is ex:
        raise ex
    raise mapped from None
