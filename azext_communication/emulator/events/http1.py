"""A small HTTP/1.1 client for deliveries: one keep-alive socket, one `sendall` and usually one `recv` per request.

Why not http.client: inside the emulator the delivery thread competes for the GIL with the request threads, and
each blocking call costs a wait for it; http.client makes several per request (and more for its header parsing
through a buffered file). This keeps a request to the minimum of system calls. It reads Content-Length and
chunked bodies (up to `MAX_BODY`, the rest is not read and the connection is dropped) and bodies ended by close.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024


class ProtocolError(OSError):
    """The endpoint's answer was not HTTP/1.x we can read."""


class Connection:
    """One keep-alive connection to host:port (TLS when `context` is given)."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None, timeout: float) -> None:
        self.host, self.port, self.context, self.timeout = host, port, context, timeout
        self.sock: socket.socket | None = None
        self._buf = b""
        self._fresh = True

    def _open(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock, self._buf, self._fresh = sock, b"", True

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def request(self, method: str, target: str, headers: dict[str, str], body: bytes
                ) -> tuple[int, dict[str, str], bytes]:
        """Send one request and read its answer; raises OSError (TimeoutError, ssl.SSLError, ...) on failure."""
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        for attempt in (1, 2):
            if self.sock is None:
                self._open()
            reused = not self._fresh
            self._fresh = False
            try:
                self.sock.sendall(data)
                return self._response(method)
            except (ConnectionError, ProtocolError) as exc:
                self.close()
                # a kept-alive connection the endpoint had closed meanwhile: one retry on a new one
                if attempt == 2 or not reused or not getattr(exc, "before_answer", False):
                    raise
        raise AssertionError("unreachable")

    def _recv(self, deadline: float) -> bytes:
        if time.monotonic() > deadline:
            raise TimeoutError("the answer took too long")
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("the connection was closed")
        return chunk

    def _response(self, method: str) -> tuple[int, dict[str, str], bytes]:
        deadline = time.monotonic() + self.timeout
        buf = self._buf
        while True:
            while b"\r\n\r\n" not in buf:
                try:
                    buf += self._recv(deadline)
                except ConnectionResetError as exc:
                    exc.before_answer = not buf  # type: ignore[attr-defined]
                    raise
                if len(buf) > MAX_HEAD:
                    raise ProtocolError("the answer's header section is too large")
            head, _, buf = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
                raise ProtocolError("the answer is not HTTP/1.x")
            status = int(parts[1])
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if 100 <= status < 200:  # interim answer (100 Continue): the real one follows
                continue
            break
        keep = headers.get("connection", "").lower() != "close"
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body, buf, complete = self._chunked(buf, deadline)
            keep = keep and complete
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise ProtocolError("the answer has an invalid Content-Length") from None
            want = min(length, MAX_BODY)
            while len(buf) < want:
                buf += self._recv(deadline)
            body, buf = buf[:length], buf[length:]
            keep = keep and length <= MAX_BODY
        else:  # ended by closing the connection
            while len(buf) < MAX_BODY:
                try:
                    buf += self._recv(deadline)
                except ConnectionResetError:
                    break
            body, buf, keep = buf[:MAX_BODY], b"", False
        self._buf = buf
        if not keep:
            self.close()
        return status, headers, body[:MAX_BODY]

    def _chunked(self, buf: bytes, deadline: float) -> tuple[bytes, bytes, bool]:
        """(body, what follows it, whether the whole body was read)."""
        body = b""
        while True:
            while b"\r\n" not in buf:
                buf += self._recv(deadline)
            size_line, _, buf = buf.partition(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError("the answer has an invalid chunk size") from None
            if size == 0:
                while b"\r\n" not in buf:  # trailers end with an empty line
                    buf += self._recv(deadline)
                while not buf.startswith(b"\r\n"):
                    _, _, buf = buf.partition(b"\r\n")
                    while b"\r\n" not in buf:
                        buf += self._recv(deadline)
                return body, buf[2:], True
            if len(body) + size > MAX_BODY:
                return body, b"", False
            while len(buf) < size + 2:
                buf += self._recv(deadline)
            body += buf[:size]
            buf = buf[size + 2:]
