"""Error mapping: every row of the contract's error table becomes one azure-cli error line with the right
class and exit code, without secrets."""

from __future__ import annotations

import json
import socket
import ssl
import time

import pytest
from cli_harness import run

ENDPOINT = "https://127.0.0.1:8443"
THREAD = "19:a1b2c3d4e5f60718293a4b5c6d7e8f90@thread.v2"
SECRET_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDAsInNreXBlaWQiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"


class FakeResponse:
    """Just what azure-core's HttpResponseError reads from a response."""

    def __init__(self, status: int, body: object = None, reason: str = "Reason") -> None:
        self.status_code = status
        self.reason = reason
        self._text = body if isinstance(body, str) else json.dumps(body) if body is not None else ""
        self.headers = {"Content-Type": "application/json"}
        self.content_type = "application/json"
        self.request = None

    def text(self, encoding: str | None = None) -> str:
        return self._text

    def body(self) -> bytes:
        return self._text.encode()


def http_error(status: int, code: str = "Code", message: str = "Message", body: object = None):
    from azure.core import exceptions as exc

    cls = {401: exc.ClientAuthenticationError, 404: exc.ResourceNotFoundError}.get(status, exc.HttpResponseError)
    body = body if body is not None else {"error": {"code": code, "message": message}}
    return cls(response=FakeResponse(status, body))


def mapped(ex: BaseException, **context: str):
    from azext_communication._errors import map_exception, set_error_context

    set_error_context(**context)
    return map_exception(ex)


def exit_code_of(error: BaseException) -> int:
    from azure.cli.core.util import handle_exception

    return handle_exception(error)


def one_line(error: BaseException) -> str:
    text = error.error_msg
    assert "\n" not in text
    assert "Traceback" not in text
    return text


def test_401_chat_says_token_refused_and_how_to_get_one():
    from azure.cli.core.azclierror import UnauthorizedError

    error = mapped(http_error(401, "Unauthorized", "Request is not authorized."), kind="chat", endpoint=ENDPOINT)
    assert isinstance(error, UnauthorizedError)
    text = one_line(error)
    assert "access token was refused" in text and "expired" in text and "revoked" in text
    assert "az communication identity token issue" in text
    assert "Request is not authorized" in text and text.index("not authorized") < text.index("Possible causes")
    assert exit_code_of(error) == 1


def test_401_with_a_reason_puts_it_first_and_lists_no_causes():
    error = mapped(http_error(401, "Unauthorized", "Request is not authorized. The access token has expired."),
                   kind="chat")
    assert one_line(error) == ("The access token was refused: Request is not authorized. The access token has "
                               "expired (401 Unauthorized). Get a new one with 'az communication identity token "
                               "issue --scope chat --user <user id>'.")


def test_401_of_the_teams_exchange_is_about_the_entra_token():
    error = mapped(http_error(401, "InvalidAccessToken", "The Teams access token has expired."), kind="identity",
                   teams_exchange=True)
    assert one_line(error).startswith("The Microsoft Entra ID token was refused: The Teams access token has expired "
                                      "(401 InvalidAccessToken).")
    assert "access key" not in error.error_msg


def test_401_identity_says_key_refused():
    error = mapped(http_error(401, "Unauthorized", "Denied by the resource provider."), kind="identity")
    assert "access key was refused" in one_line(error)
    assert "--connection-string" in error.error_msg


def test_403_says_caller_not_allowed():
    from azure.cli.core.azclierror import ForbiddenError

    error = mapped(http_error(403, "Forbidden", "User is not allowed to perform specified action."), kind="chat",
                   thread_id=THREAD)
    assert isinstance(error, ForbiddenError)
    text = one_line(error)
    assert "not allowed" in text and "participant" in text and "scope" in text
    assert text.index("User is not allowed to perform specified action") < text.index("Possible causes:")
    assert exit_code_of(error) == 1


@pytest.mark.parametrize("reason", ["A deleted message cannot be edited.", "Only the sender can change a message.",
                                    "The access token scope does not allow deleting threads."])
def test_403_with_a_reason_gives_it_first_without_guessing_causes(reason):
    error = mapped(http_error(403, "Forbidden", reason), kind="chat", thread_id=THREAD)
    assert one_line(error) == f"The caller is not allowed to do this: {reason[:-1]} (403 Forbidden)."


@pytest.mark.parametrize("generic", ["Permissions check failed", "Forbidden.",
                                     "Initiator does not have permission to perform requested operation"])
def test_403_without_a_reason_adds_possible_causes(generic):
    error = mapped(http_error(403, "Forbidden", generic), kind="chat")
    assert "Possible causes: the user is not (or no longer) a participant" in one_line(error)


@pytest.mark.parametrize(("context", "expected"), [
    ({"kind": "chat", "thread_id": THREAD}, f"Chat thread '{THREAD}' was not found"),
    ({"kind": "chat", "thread_id": THREAD, "message_id": "17"}, f"Message '17' in chat thread '{THREAD}'"),
    ({"kind": "chat", "thread_id": THREAD, "user": "8:acs:r_u"}, "Participant '8:acs:r_u'"),
    ({"kind": "identity", "user": "8:acs:r_u"}, "User '8:acs:r_u' was not found"),
])
def test_404_names_what_was_not_found_and_exits_3(context, expected):
    from azure.cli.core.azclierror import ResourceNotFoundError

    error = mapped(http_error(404, "NotFound", "Not Found"), **context)
    assert isinstance(error, ResourceNotFoundError)
    assert expected in one_line(error)
    assert exit_code_of(error) == 3


def test_404_names_the_id_once_and_keeps_a_service_text_that_adds_something():
    error = mapped(http_error(404, "NotFound", f"Thread {THREAD} was not found."), kind="chat", thread_id=THREAD)
    assert one_line(error) == f"Chat thread '{THREAD}' was not found (404 NotFound)."
    error = mapped(http_error(404, "NotFound", "The thread was deleted."), kind="chat", thread_id=THREAD)
    assert one_line(error) == f"Chat thread '{THREAD}' was not found (404 NotFound: The thread was deleted)."


def test_400_pascal_case_body_of_the_real_service_is_read():
    from azure.cli.core.azclierror import BadRequestError

    body = {"CommunicationError": {"Code": "BadRequest", "Message": "Identifier format is invalid (8:acs:x).",
                                   "Details": []}}
    error = mapped(http_error(400, body=body), kind="chat")
    assert isinstance(error, BadRequestError)
    assert "Identifier format is invalid (8:acs:x)." in one_line(error)


def test_429_and_5xx_give_the_service_message():
    from azure.cli.core.azclierror import AzureInternalError, AzureResponseError

    error = mapped(http_error(429, "TooManyRequests", "Rate limit exceeded."), kind="chat")
    assert isinstance(error, AzureResponseError)
    assert "Rate limit exceeded." in one_line(error) and "429" in error.error_msg
    error = mapped(http_error(503, "ServiceUnavailable", "The server is currently unable to handle the request."))
    assert isinstance(error, AzureInternalError)
    assert "currently unable" in one_line(error)


def test_non_json_error_body_falls_back_to_reason():
    error = mapped(http_error(500, body="<html>oops</html>"), kind="chat")
    assert "500" in one_line(error)


def _request_error(inner: BaseException):
    from azure.core.exceptions import ServiceRequestError

    try:
        try:
            raise inner
        except BaseException as cause:
            raise ServiceRequestError(str(inner), error=cause) from cause
    except ServiceRequestError as ex:
        return ex


def test_connection_refused_names_the_endpoint():
    from azure.cli.core.azclierror import AzureConnectionError

    error = mapped(_request_error(ConnectionRefusedError(111, "Connection refused")), endpoint=ENDPOINT)
    assert isinstance(error, AzureConnectionError)
    assert ENDPOINT in one_line(error) and "refused" in error.error_msg


def test_dns_failure_and_timeout_name_the_endpoint():
    error = mapped(_request_error(socket.gaierror(-2, "Name or service not known")),
                   endpoint="https://nowhere.invalid")
    assert "https://nowhere.invalid" in one_line(error) and "resolved" in error.error_msg
    error = mapped(_request_error(TimeoutError("timed out")), endpoint=ENDPOINT)
    assert "timed out" in one_line(error)


def test_untrusted_certificate_says_how_to_trust_the_emulator():
    from azure.cli.core.azclierror import AzureConnectionError

    inner = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                            "self-signed certificate in certificate chain (_ssl.c:1000)")
    error = mapped(_request_error(inner), endpoint=ENDPOINT)
    assert isinstance(error, AzureConnectionError)
    text = one_line(error)
    assert f"TLS verification failed for {ENDPOINT}" in text
    assert "export REQUESTS_CA_BUNDLE=" in text and "az communication emulator start" in text


def test_sdk_token_parse_errors_left_over_are_mapped():
    from azext_communication._settings import NOT_ACS_TOKEN

    assert mapped(KeyError("exp")).error_msg == NOT_ACS_TOKEN
    assert mapped(ValueError("Token is not formatted correctly")).error_msg == NOT_ACS_TOKEN


def test_secrets_never_reach_the_message():
    error = mapped(http_error(401, "Unauthorized", f"Bad token {SECRET_TOKEN} accesskey=c2VjcmV0c2VjcmV0"),
                   kind="chat")
    assert SECRET_TOKEN not in error.error_msg
    assert "c2VjcmV0c2VjcmV0" not in error.error_msg
    error = mapped(ValueError(f"Invalid URL: Bearer {SECRET_TOKEN}"))
    assert SECRET_TOKEN not in error.error_msg


def test_unknown_exceptions_are_not_hidden():
    bug = RuntimeError("a bug")
    assert mapped(bug) is bug


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_connection_refused_end_to_end_one_line():
    """A real refused connection (after the SDK's connect retries): one line naming the endpoint, exit 1."""
    endpoint = f"https://127.0.0.1:{_closed_port()}"
    token = "eyJhbGciOiJub25lIn0." + "eyAiZXhwIjogNDEwMjQ0NDgwMCB9" + ".c2ln"
    start = time.monotonic()
    result = run("communication", "chat", "thread", "list", "--endpoint", endpoint, "--access-token", token)
    assert result.exit_code == 1, result
    assert result.error_lines == [f"ERROR: Could not reach {endpoint} (connection refused: is the service or "
                                  "emulator running on that host and port?)."]
    assert token not in result.stderr
    assert time.monotonic() - start < 60


@pytest.mark.parametrize(("reason", "endpoint"), [
    ("Request is not authorized. The access token signature is invalid.", "https://127.0.0.1:8443"),
    ("Request is not authorized. The access token signature is invalid.", "https://contoso.communication.azure.com"),
    ("Unauthorized", "https://localhost:8443"),
])
def test_401_for_a_token_the_endpoint_does_not_know_names_the_likely_cause(reason: str, endpoint: str):
    """What the emulator answers after a restart without --data-dir: it signs tokens with a key made at start-up."""
    text = one_line(mapped(http_error(401, "Unauthorized", reason), kind="chat", endpoint=endpoint))
    assert "Likely cause: this endpoint does not know the token" in text and "restarted without --data-dir" in text
    assert "az communication identity token issue" in text
    assert ("Possible causes" in text) == (reason == "Unauthorized")  # the service's own reason comes first


def test_401_that_says_why_gets_no_unknown_token_hint_even_locally():
    error = mapped(http_error(401, "Unauthorized", "Request is not authorized. The access token has been revoked."),
                   kind="chat", endpoint="https://127.0.0.1:8443")
    assert "does not know the token" not in one_line(error)
