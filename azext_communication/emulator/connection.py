"""A connection's socket under the request handler: the timeouts that keep a slow or stalled client from holding
a thread for ever, and one `sendall` per write."""

from __future__ import annotations

import io
import socket
import time


class RequestTimeoutError(TimeoutError):
    """A client started a request and did not finish sending it in time (answered 408)."""


class ClientIO(io.RawIOBase):
    """The connection's socket under the handler's buffered reader and writer, with the timeouts that keep a slow
    or stalled client (slowloris, a Content-Length larger than the body) from holding a thread for ever.

    Between requests each read may wait `idle` seconds; once the first byte of a request has arrived, the whole
    request must arrive before one deadline (a client trickling a byte at a time never resets it); a write may
    block `write` seconds. The socket timeout is only changed when it differs, which keeps the hot path cheap.
    """

    def __init__(self, sock: socket.socket, idle: float, request: float, write: float) -> None:
        super().__init__()
        self._sock = sock
        self.idle, self.request, self.write_timeout = idle, request, write
        self.deadline: float | None = None  # None: waiting for the next request
        self._timeout: float | None = None
        self.received = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        """Bytes received so far; the buffered reader's tell() is then what the handler consumed."""
        return self.received

    def _use(self, timeout: float) -> None:
        if timeout != self._timeout:
            self._sock.settimeout(timeout)
            self._timeout = timeout

    def next_request(self, consumed: int) -> None:
        """The previous request is complete: the next one gets its own deadline from its first byte, which may
        already be in the buffer (`consumed` < `received`: a pipelined request, or the start of one)."""
        self.deadline = time.monotonic() + self.request if consumed < self.received else None

    def readinto(self, buf: memoryview) -> int:
        deadline = self.deadline
        if deadline is None:
            self._use(self.idle)
        else:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RequestTimeoutError("the request was not received in time")
            self._sock.settimeout(left)
            self._timeout = left
        try:
            n = self._sock.recv_into(buf)
        except TimeoutError:
            if deadline is not None:
                raise RequestTimeoutError("the request was not received in time") from None
            raise
        self.received += n
        if deadline is None and n:
            self.deadline = time.monotonic() + self.request
        return n

    def send(self, data: bytes) -> None:
        self._use(self.write_timeout)
        self._sock.sendall(data)


class ClientWriter(io.RawIOBase):
    """`wfile` for http.server (interim 100-continue answers) and `_write`: one sendall per write."""

    def __init__(self, client: ClientIO) -> None:
        super().__init__()
        self._client = client

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        self._client.send(data)
        return len(data)
