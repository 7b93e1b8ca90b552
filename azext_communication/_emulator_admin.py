"""Calls to a running emulator's admin API (event subscriptions), signed with the access key like identity calls.

Why not an SDK: these routes exist only in the emulator. Every failure becomes one azure-cli error line; a
connection string of a real Communication Services resource is refused before any request.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

from azure.cli.core.azclierror import (
    AzureConnectionError,
    AzureResponseError,
    BadRequestError,
    ResourceNotFoundError,
    UnauthorizedError,
    UnclassifiedUserFault,
)

from ._errors import TLS_HINT, redact

SUBSCRIPTIONS = "/admin/eventSubscriptions"
DEFAULT_TIMEOUT = 150.0  # creating a subscription waits for the endpoint validation (3 tries, up to 30 s each)


def _parse(conn_str: str) -> tuple[str, str]:
    parts = {}
    for element in conn_str.split(";"):
        name, _, value = element.partition("=")
        parts[name.strip().lower()] = value.strip()
    endpoint = parts.get("endpoint", "").rstrip("/")
    if "//" not in endpoint:
        endpoint = "https://" + endpoint
    return endpoint, parts.get("accesskey", "")


def not_an_emulator(endpoint: str) -> UnclassifiedUserFault:
    return UnclassifiedUserFault(
        f"{endpoint} is not a Communication Services emulator: event subscriptions of a real resource are managed "
        "with 'az eventgrid system-topic event-subscription'.")


class EmulatorAdmin:
    """One admin call per method; raises azure-cli errors."""

    def __init__(self, connection_string: str, timeout: float | None = None, user_agent: str = "") -> None:
        self.endpoint, self._key = _parse(connection_string)
        self.timeout = timeout or DEFAULT_TIMEOUT
        self.user_agent = user_agent
        host = (urlsplit(self.endpoint).hostname or "").lower()
        if host.endswith(".communication.azure.com") or host.endswith(".communication.azure.us"):
            raise not_an_emulator(self.endpoint)

    def call(self, method: str, path: str, body: object = None) -> Any:
        import requests

        from .emulator.tokens import sign_request

        url = self.endpoint + path
        raw = b"" if body is None else json.dumps(body).encode()
        headers = sign_request(method, url, raw, self._key)
        headers["Content-Type"] = "application/json"
        if self.user_agent:
            headers["User-Agent"] = self.user_agent
        try:
            resp = requests.request(method, url, data=raw, headers=headers, timeout=self.timeout)
        except requests.exceptions.SSLError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "certificate verify failed" in str(exc).lower():
                raise AzureConnectionError(f"TLS verification failed for {self.endpoint}: its certificate is not "
                                           f"trusted. {TLS_HINT}") from None
            raise AzureConnectionError(f"The TLS handshake with {self.endpoint} failed. {TLS_HINT}") from None
        except requests.exceptions.Timeout:
            raise AzureConnectionError(f"{self.endpoint} did not answer within {self.timeout:g} seconds.") from None
        except requests.exceptions.ConnectionError as exc:
            reason = ("connection refused: is the emulator running on that host and port?"
                      if "refused" in str(exc).lower() else "the connection failed")
            raise AzureConnectionError(f"Could not reach {self.endpoint} ({reason}).") from None
        return self._result(resp)

    def _result(self, resp: Any) -> Any:
        try:
            data = resp.json() if resp.content else None
        except ValueError:
            data = None
        error = data.get("error") if isinstance(data, dict) else None
        if resp.status_code < 300:
            if resp.status_code != 204 and data is None:
                raise not_an_emulator(self.endpoint)
            return data
        if not isinstance(error, dict):
            raise not_an_emulator(self.endpoint)
        code, message = error.get("code", ""), redact(str(error.get("message", "")).split("\n", 1)[0])
        if resp.status_code == 404:
            if code == "SubscriptionNotFound":
                raise ResourceNotFoundError(message)
            raise not_an_emulator(self.endpoint)
        if resp.status_code == 401:
            raise UnauthorizedError(f"The emulator refused the access key: {message} Use the connection string it "
                                    "printed at start.")
        if resp.status_code == 400:
            raise BadRequestError(message)
        raise AzureResponseError(message)

    # ------------------------------------------------------------------ subscriptions
    def create(self, body: dict) -> Any:
        return self.call("POST", SUBSCRIPTIONS, body)

    def list(self) -> Any:
        return (self.call("GET", SUBSCRIPTIONS) or {}).get("value", [])

    def show(self, name: str) -> Any:
        return self.call("GET", f"{SUBSCRIPTIONS}/{quote(name, safe='')}")

    def delete(self, name: str) -> None:
        self.call("DELETE", f"{SUBSCRIPTIONS}/{quote(name, safe='')}")
