"""Where the endpoint, the access token, the connection string and the timeout come from, and their checks.

Each value is taken from the option first, then `AZURE_COMMUNICATION_<NAME>`, then `az config [communication]`.
Shared by the argument validators and the shell completers, which must resolve exactly as the commands do.
Values are never echoed in errors: they may hold secrets.
"""

from __future__ import annotations

import base64
import binascii
import configparser
import json
import os
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlparse

from azure.cli.core.azclierror import InvalidArgumentValueError, RequiredArgumentMissingError, UnauthorizedError

CONFIG_SECTION = "communication"
ENV_PREFIX = "AZURE_COMMUNICATION_"
TIMEOUT_KEY = "timeout"

_NOT_ACS_TOKEN = (
    "The access token is not a valid ACS token{where} (expected a JWT-shaped user access token with a numeric "
    "'exp' claim). Issue one with 'az communication identity token issue --scope chat'."
)
NOT_ACS_TOKEN = _NOT_ACS_TOKEN.format(where="")


def _config_file_value(cli_ctx: Any, key: str) -> str:
    """Read `[communication] key` from the az config file only (the variable was already looked at)."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(cli_ctx.config.config_path, encoding="utf-8")
    except (OSError, configparser.Error):
        return ""
    return parser.get(CONFIG_SECTION, key, fallback="").strip()


def resolve_setting(cli_ctx: Any, value: str | None, option: str, key: str) -> tuple[str, str]:
    """Return (value, where it came from): the first non-empty of option, environment variable and az config.

    An empty value counts as missing. The error names both the option and the variable, because scripts
    usually set the variable; the source is returned so that later errors can say where a bad value came from.
    """
    if value is not None and value.strip():
        return value.strip(), option
    env_name = ENV_PREFIX + key.upper()
    env_value = os.environ.get(env_name, "").strip()
    if env_value:
        return env_value, env_name
    config_value = _config_file_value(cli_ctx, key)
    if config_value:
        return config_value, f"az config {CONFIG_SECTION}.{key}"
    raise RequiredArgumentMissingError(
        f"Please specify {option}, or set {env_name}, or run 'az config set {CONFIG_SECTION}.{key}=<value>'.")


def _from(source: str, option: str) -> str:
    """' (from <source>)' when the value did not come from the option itself."""
    return "" if source == option else f" (value from {source})"


def check_endpoint(endpoint: str, source: str = "--endpoint") -> str:
    """An endpoint must be an https URL: bearer tokens are never sent in clear text.

    The value is not echoed: a connection string pasted here by mistake would hold the access key.
    """
    parsed = urlparse(endpoint)
    if parsed.scheme.lower() != "https" or not parsed.hostname:
        raise InvalidArgumentValueError(
            "--endpoint must be an https URL such as https://<resource>.communication.azure.com "
            f"(or the https endpoint printed by 'az communication emulator start'){_from(source, '--endpoint')}."
        )
    if parsed.query or parsed.fragment or parsed.params:
        raise InvalidArgumentValueError(
            f"--endpoint must be a plain https URL without query or fragment{_from(source, '--endpoint')}."
        )
    if parsed.path.strip("/"):
        # The SDKs append /chat/... to the endpoint, so a path would be sent on to the service and every thread
        # would be "not found": the resource's base URL is meant, as the portal and the emulator print it.
        raise InvalidArgumentValueError(
            "--endpoint must be the resource's base URL, without a path: https://<resource>.communication.azure.com "
            f"(or the endpoint printed by 'az communication emulator start'){_from(source, '--endpoint')}."
        )
    return endpoint.rstrip("/")


def parse_access_token_expiry(token: str, source: str = "--access-token") -> datetime:
    """Parse the token exactly as the chat SDK does (split on '.', non-strict standard base64, json, `exp`).

    Raises UnauthorizedError (exit 1: the service would refuse it) instead of the SDK's ValueError/KeyError/TypeError.
    """
    parts = token.split(".")
    try:
        if len(parts) < 3:
            raise ValueError("not three segments")
        payload = json.loads(base64.b64decode(parts[1] + "==").decode("ascii"))
        exp = payload["exp"]
        if isinstance(exp, bool) or not isinstance(exp, (int, float)):
            raise TypeError("exp is not a number")
        return datetime.fromtimestamp(exp, timezone.utc)
    except (ValueError, KeyError, TypeError, binascii.Error, OverflowError, OSError):
        raise UnauthorizedError(_NOT_ACS_TOKEN.format(where=_from(source, "--access-token"))) from None


def check_access_token(token: str, source: str = "--access-token") -> str:
    """Refuse tokens the SDK cannot parse and tokens that have already expired (the service would 401)."""
    expires = parse_access_token_expiry(token, source)
    if expires <= datetime.now(timezone.utc):
        raise UnauthorizedError(
            f"The access token has expired (at {expires.isoformat()}){_from(source, '--access-token')}. "
            "Issue a new one with 'az communication identity token issue --scope chat --user <user id>'."
        )
    return token


def check_connection_string(conn_str: str, source: str = "--connection-string") -> str:
    """A connection string needs `endpoint=` and a base64 `accesskey=` (parsed the way the SDK parses it).

    The value is never echoed: it holds the access key.
    """
    where = _from(source, "--connection-string")
    endpoint = key = None
    for element in conn_str.split(";"):
        name, _, value = element.partition("=")
        if name.strip().lower() == "endpoint":
            endpoint = value.strip()
        elif name.strip().lower() == "accesskey":
            key = value.strip()
    if not endpoint or not key:
        raise InvalidArgumentValueError(
            f"--connection-string must have the form 'endpoint=https://<resource>/;accesskey=<base64 key>'{where}."
        )
    host = urlparse(endpoint if "//" in endpoint else "https://" + endpoint).hostname
    if not host:
        raise InvalidArgumentValueError(f"The endpoint in --connection-string is not a URL{where}.")
    try:
        base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgumentValueError(f"The accesskey in --connection-string is not valid base64{where}.") from None
    return conn_str.strip()



def resolve_timeout(cli_ctx: Any) -> float | None:
    """Seconds to wait for a connection and for each response: AZURE_COMMUNICATION_TIMEOUT, then az config
    `communication.timeout`; None keeps azure-core's defaults (300 s). Why: a stalled service should fail a
    script in bounded time, and the SDK's read retries multiply any wait."""
    env_name = ENV_PREFIX + TIMEOUT_KEY.upper()
    value, source = os.environ.get(env_name, "").strip(), env_name
    if not value:
        value, source = _config_file_value(cli_ctx, TIMEOUT_KEY), f"az config {CONFIG_SECTION}.{TIMEOUT_KEY}"
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 3600:  # also false for nan
        raise InvalidArgumentValueError(
            f"{source} must be a number of seconds greater than 0 and at most 3600; got '{value}'."
        )
    return seconds

