#!/usr/bin/env python3
"""Echo bot for Azure Communication Services chat: answers "ping" with "pong", driven by Event Grid webhooks.

It is a webhook receiver (standard library only, plus the chat SDK to reply) that:
- answers both validation handshakes: the Event Grid `SubscriptionValidationEvent` (echoes `validationCode`) and
  the CloudEvents `OPTIONS` request (`WebHook-Request-Origin` -> `WebHook-Allowed-Origin`);
- receives `Microsoft.Communication.ChatMessageReceived` in the Event Grid schema (a JSON array) and in
  CloudEvents 1.0 (one object, or a batch array);
- acts only on the copy of an event addressed to itself (ACS sends one copy per recipient) and never on its own
  messages, and answers each event and each message once, however often Event Grid redelivers it;
- replies in the thread as its own ACS user, with the reply's metadata `replyTo` set to the message it answers.

Configuration (environment, or the options of `--help`):
  ECHO_BOT_ACCESS_TOKEN   the bot's chat token (required; from the environment only, so it stays out of `ps`)
  ECHO_BOT_ENDPOINT       the Communication Services endpoint (falls back to AZURE_COMMUNICATION_ENDPOINT)
  ECHO_BOT_HOST / _PORT   where to listen (default 127.0.0.1:8080; port 0 picks a free one)
  ECHO_BOT_DISPLAY_NAME   the name on its replies (default "Echo Bot")
  REQUESTS_CA_BUNDLE      how the chat SDK trusts a local emulator's certificate

Event Grid delivers at least once and retries anything but 200-204: a reply that fails for a reason that may heal
(connection, 5xx, 401) is answered 503 so the event comes again; a thread the bot may no longer write to (403,
404) is logged and acknowledged. SIGINT/SIGTERM stop it cleanly (exit 0).
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

MESSAGE_RECEIVED = "Microsoft.Communication.ChatMessageReceived"
VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
MAX_BODY = 1024 * 1024  # Event Grid's own limit for one event
REMEMBERED = 10_000  # event ids and message ids kept for de-duplication
BUSY_WAIT = 20.0  # seconds a duplicate delivery waits for the answer in progress
log = logging.getLogger("echo_bot")


class ConfigError(Exception):
    """A configuration problem, reported as one line."""


class ReplyError(Exception):
    """The reply could not be sent; `retry` says whether a redelivery may succeed."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def reply_for(text: str) -> str | None:
    """What the bot answers to a message's text (None: stay silent). Change this to make it your bot."""
    return "pong" if text.strip().lower() == "ping" else None


def user_id_from_token(token: str) -> str:
    """The raw id (`8:acs:...`) of the user a Communication Services token is for; ConfigError if unusable."""
    parts = token.split(".")
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        skype_id, expires = claims["skypeid"], claims["exp"]
    except (IndexError, ValueError, KeyError, TypeError):
        raise ConfigError("ECHO_BOT_ACCESS_TOKEN is not a Communication Services access token") from None
    if not isinstance(expires, (int, float)) or expires <= time.time():
        raise ConfigError("ECHO_BOT_ACCESS_TOKEN has expired: issue a new one "
                          "(az communication identity token issue --scope chat --user <bot id>)")
    return f"8:{skype_id}"


def _text(data: dict) -> str:
    body = str(data.get("messageBody") or "")
    return re.sub(r"<[^>]+>", "", body) if str(data.get("type", "")).lower() == "html" else body


class EchoBot:
    """The webhook logic without HTTP: `handle(method, headers, body) -> (status, headers, body)`."""

    def __init__(self, user_id: str, send: Callable[[str, str, str], None],
                 reply: Callable[[str], str | None] = reply_for) -> None:
        self.user_id = user_id
        self.send = send  # send(thread_id, text, reply_to_message_id)
        self.reply = reply
        self._done: OrderedDict[str, None] = OrderedDict()
        self._busy: set[str] = set()
        self._lock = threading.Condition()

    def handle(self, method: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Answer one webhook request; `headers` keyed in lower case."""
        if method == "OPTIONS":  # CloudEvents abuse protection (events spec 5.4)
            out = {"Allow": "POST, OPTIONS"}
            origin = headers.get("webhook-request-origin")
            if origin:
                out.update({"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*"})
            return 200, out, b""
        if method != "POST":
            return 405, {"Allow": "POST, OPTIONS"}, b""
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, {}, b'{"error": "the body is not JSON"}'
        events = payload if isinstance(payload, list) else [payload]
        if not all(isinstance(e, dict) for e in events):
            return 400, {}, b'{"error": "expected an event or an array of events"}'
        status = 200
        for event in events:
            kind = event.get("eventType") or event.get("type")
            data = event.get("data") if isinstance(event.get("data"), dict) else {}
            if kind == VALIDATION:  # Event Grid schema handshake (events spec 5.3)
                log.info("answering the subscription validation handshake")
                return 200, {"Content-Type": "application/json"}, json.dumps(
                    {"validationResponse": data.get("validationCode")}).encode()
            if kind == MESSAGE_RECEIVED and not self._on_message(str(event.get("id", "")), data):
                status = 503  # some reply could not be sent: let Event Grid deliver again
        return status, {}, b""

    def _on_message(self, event_id: str, data: dict) -> bool:
        """Reply once to a message addressed to the bot; False when a redelivery should try again."""
        sender = (data.get("senderCommunicationIdentifier") or {}).get("rawId") or data.get("senderId")
        recipient = (data.get("recipientCommunicationIdentifier") or {}).get("rawId") or data.get("recipientId")
        thread, message = data.get("threadId"), data.get("messageId")
        if sender == self.user_id or recipient != self.user_id or not thread or not message:
            return True  # its own message, or another participant's copy
        answer = self.reply(_text(data))
        if answer is None:
            return True
        keys = [f"event:{event_id}", f"message:{thread}/{message}"]
        with self._lock:
            # The same event (e.g. from a second subscription) or message may be being answered right now: wait
            # for that answer, well within Event Grid's 30 s, rather than make Event Grid retry later.
            if not self._lock.wait_for(lambda: not any(k in self._busy for k in keys), timeout=BUSY_WAIT):
                return False
            if any(k in self._done for k in keys):
                log.info("event %s for message %s already answered", event_id, message)
                return True
            self._busy.update(keys)
        try:
            self.send(thread, answer, message)
            log.info("replied %r to message %s in thread %s", answer, message, thread)
            with self._lock:
                for k in keys:
                    self._done[k] = None
                while len(self._done) > 2 * REMEMBERED:
                    self._done.popitem(last=False)
            return True
        except ReplyError as exc:
            log.error("could not reply to message %s in thread %s: %s", message, thread, exc)
            return not exc.retry
        finally:
            with self._lock:
                self._busy.difference_update(keys)
                self._lock.notify_all()


class ChatSender:
    """Sends the bot's replies with the chat SDK, one kept-alive client per thread."""

    def __init__(self, endpoint: str, token: str, display_name: str, **client_kwargs: Any) -> None:
        from azure.communication.chat import CommunicationTokenCredential

        self.endpoint, self.display_name = endpoint, display_name
        self.credential = CommunicationTokenCredential(token)
        self.client_kwargs = {"retry_total": 2, **client_kwargs}
        self._clients: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def _client(self, thread_id: str) -> Any:
        from azure.communication.chat import ChatThreadClient

        with self._lock:
            client = self._clients.pop(thread_id, None) or ChatThreadClient(
                self.endpoint, self.credential, thread_id, **self.client_kwargs)
            self._clients[thread_id] = client
            while len(self._clients) > 32:
                self._clients.popitem(last=False)[1].close()
            return client

    def __call__(self, thread_id: str, text: str, reply_to: str) -> None:
        from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError

        try:
            self._client(thread_id).send_message(text, sender_display_name=self.display_name,
                                                 metadata={"replyTo": reply_to})
        except ClientAuthenticationError as exc:
            raise ReplyError(f"the bot's token was refused ({_first_line(exc)})", retry=True) from None
        except HttpResponseError as exc:
            raise ReplyError(f"{exc.status_code}: {_first_line(exc)}", retry=exc.status_code not in (403, 404)) \
                from None
        except (AzureError, ValueError, OSError) as exc:
            raise ReplyError(_first_line(exc), retry=True) from None

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class _Handler(BaseHTTPRequestHandler):
    server_version = "EchoBot/1.0"
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.send_response(413 if length > 0 else 400)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            return
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, out, payload = self.server.bot.handle(self.command, headers, body)  # type: ignore[attr-defined]
        except Exception:  # a bug in the bot must not kill the server; Event Grid retries a 500
            log.exception("failed to handle a %s request", self.command)
            status, out, payload = 500, {}, b""
        self.send_response(status)
        for name, value in out.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_OPTIONS = do_GET = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server's method names

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), fmt % args)


class BotServer(ThreadingHTTPServer):
    """The HTTP side: hands every request to `bot.handle`."""

    daemon_threads = True

    def __init__(self, bot: EchoBot, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.bot = bot
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/api/events"


def _env_port(value: str | None) -> int:
    try:
        port = int(value) if value else 8080
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ConfigError(f"invalid port '{value}': expected a number from 0 to 65535")
    return port


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="echo_bot.py", description="Answers 'ping' with 'pong' in ACS chat threads, driven by Event Grid "
        "webhooks (ChatMessageReceived). The bot's token comes from ECHO_BOT_ACCESS_TOKEN.",
        epilog="Example: ECHO_BOT_ACCESS_TOKEN=$(az communication identity token issue --scope chat --query token "
               "-o tsv) python examples/echo_bot.py --endpoint https://127.0.0.1:8443 --port 8080")
    p.add_argument("--endpoint", default=None, help="Communication Services endpoint (default: ECHO_BOT_ENDPOINT, "
                   "then AZURE_COMMUNICATION_ENDPOINT).")
    p.add_argument("--host", default=None, help="Address to listen on (default: ECHO_BOT_HOST or 127.0.0.1).")
    p.add_argument("--port", default=None, help="Port to listen on (default: ECHO_BOT_PORT or 8080; 0 = free).")
    p.add_argument("--display-name", default=None,
                   help="Display name on the replies (default: ECHO_BOT_DISPLAY_NAME or 'Echo Bot').")
    p.add_argument("--json", action="store_true",
                   help="When ready, print one JSON line {url, userId} on stdout (for scripts).")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                   help="Logging level on stderr (default INFO).")
    return p


def configure(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Options and environment -> settings; ConfigError (one line) for anything missing or invalid."""
    token = env.get("ECHO_BOT_ACCESS_TOKEN", "").strip()
    if not token:
        raise ConfigError("set ECHO_BOT_ACCESS_TOKEN to the bot's chat token "
                          "(az communication identity token issue --scope chat --query token -o tsv)")
    endpoint = (args.endpoint or env.get("ECHO_BOT_ENDPOINT") or env.get("AZURE_COMMUNICATION_ENDPOINT") or "")
    endpoint = endpoint.strip().rstrip("/")
    if not endpoint:
        raise ConfigError("set ECHO_BOT_ENDPOINT (or --endpoint) to the Communication Services endpoint")
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"invalid endpoint '{endpoint}': expected https://host[:port]")
    return {"endpoint": endpoint, "token": token, "user_id": user_id_from_token(token),
            "host": args.host or env.get("ECHO_BOT_HOST") or "127.0.0.1",
            "port": _env_port(args.port if args.port is not None else env.get("ECHO_BOT_PORT")),
            "display_name": args.display_name or env.get("ECHO_BOT_DISPLAY_NAME") or "Echo Bot"}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    if args.log_level != "DEBUG":  # the SDK logs every request and response at INFO
        logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        cfg = configure(args, dict(os.environ))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sender = ChatSender(cfg["endpoint"], cfg["token"], cfg["display_name"])
    try:
        server = BotServer(EchoBot(cfg["user_id"], sender), cfg["host"], cfg["port"])
    except OSError as exc:
        print(f"error: cannot listen on {cfg['host']}:{cfg['port']}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="echo-bot")
    thread.start()
    if args.json:
        print(json.dumps({"url": server.url, "userId": cfg["user_id"]}), flush=True)
    else:
        print(f"echo bot {cfg['user_id']} listening on {server.url} (Ctrl+C to stop)", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        sender.close()
        log.info("echo bot stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
