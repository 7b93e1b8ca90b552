"""The retry policy of every client the extension builds (chat, chat thread, identity).

Why: azure-core retries a failed connection three times with back-off (about 5 s) for GET, DELETE and PUT but
never for POST, so `chat thread list` took 5 s to report an untrusted certificate or a refused connection
while `identity user create` reported it at once. An untrusted certificate, a failed TLS handshake, a refused
connection or an unknown host name never heal within seconds: they now fail at once for every command. What
may heal (throttling, 5xx, timeouts, resets) is retried exactly as azure-core does.
"""

from __future__ import annotations

from typing import Any

from azure.core.pipeline.policies import RetryPolicy

from ._errors import PERMANENT_FAILURES, connection_failure


class CliRetryPolicy(RetryPolicy):
    """azure-core's RetryPolicy, except that permanent connection failures are not retried."""

    def increment(self, settings: dict[str, Any], response: Any = None, error: Exception | None = None) -> bool:
        if error is not None and connection_failure(error) in PERMANENT_FAILURES:
            return False
        return super().increment(settings, response=response, error=error)


def retry_policy(**settings: Any) -> CliRetryPolicy:
    """A fresh policy per client; `settings` are RetryPolicy's (e.g. retry_total), which a client given a
    policy no longer reads from its own keyword arguments."""
    return CliRetryPolicy(**settings)
