"""Model exceptions: the state layer raises these, the wire layer maps them to HTTP status codes.

Kept in their own module so `tokens`, `model` and `wire` can share them without import cycles.
"""

from __future__ import annotations


class EmulatorError(Exception):
    """Base class: carries the HTTP status, the error code and the message of the JSON error body."""

    status = 500
    code = "InternalServerError"

    def __init__(self, message: str = "", code: str | None = None, target: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or self.default_message
        if code:
            self.code = code
        self.target = target
        self.headers = dict(headers or {})

    default_message = "An internal error occurred."

    def to_body(self) -> dict:
        """The `{"error": {...}}` body the real service sends (common 2023-11-15 CommunicationErrorResponse)."""
        err: dict = {"code": self.code, "message": self.message}
        if self.target:
            err["target"] = self.target
        return {"error": err}


class BadRequest(EmulatorError):  # noqa: N818 - names follow the status codes
    status = 400
    code = "BadRequest"
    default_message = "The request is invalid."


class Unauthorized(EmulatorError):  # noqa: N818 - names follow the status codes
    status = 401
    code = "Unauthorized"
    default_message = "Request is not authorized."


class Forbidden(EmulatorError):  # noqa: N818 - names follow the status codes
    status = 403
    code = "Forbidden"
    default_message = "User is not allowed to perform specified action."


class NotFound(EmulatorError):  # noqa: N818 - names follow the status codes
    status = 404
    code = "NotFound"
    default_message = "Not Found"


class MethodNotAllowed(EmulatorError):  # noqa: N818 - names follow the status codes
    status = 405
    code = "MethodNotAllowed"
    default_message = "The requested HTTP method is not supported by this resource."


class Conflict(EmulatorError):  # noqa: N818 - names follow the status codes
    status = 409
    code = "Conflict"
    default_message = "The request conflicts with the current state of the resource."


class PayloadTooLarge(EmulatorError):  # noqa: N818 - names follow the status codes
    status = 413
    code = "RequestEntityTooLarge"
    default_message = "The request body is too large."


class TooManyRequests(EmulatorError):  # noqa: N818 - names follow the status codes
    status = 429
    code = "TooManyRequests"
    default_message = "Rate limit exceeded."

    def __init__(self, message: str = "", retry_after: int = 1, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))
        self.headers.setdefault("Retry-After", str(self.retry_after))


class ServiceUnavailable(EmulatorError):  # noqa: N818 - names follow the status codes
    status = 503
    code = "ServiceUnavailable"
    default_message = "The server is currently unable to handle the request."


class NotSupported(EmulatorError):  # noqa: N818 - names follow the status codes
    """501: a request feature the emulator (like the service) does not implement, e.g. a transfer coding."""

    status = 501
    code = "NotImplemented"
    default_message = "The server does not support the functionality required to fulfil the request."
