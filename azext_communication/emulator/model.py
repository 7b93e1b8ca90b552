"""Pure state and rules of the emulated Chat and Identity services (no HTTP here, moto/Azurite style).

Every public method either returns plain data objects or raises one of the `errors` exceptions, which the
wire layer maps to status codes. One re-entrant lock serialises all reads and mutations; each mutation is
written through to the `Store` in one transaction before the method returns.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .errors import (
    BadRequest,
    EmulatorError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
)
from .store import MemoryStore, Store
from .tokens import TokenCodec

__all__ = [
    "BadRequest", "Caller", "ChatModel", "EmulatorError", "Forbidden", "Member", "Message", "NotFound",
    "PayloadTooLarge", "RateLimiter", "Thread", "TooManyRequests", "Unauthorized",
    "identifier_model", "parse_identifier", "validate_raw_id",
]

# Limits (wire spec §9)
MAX_PARTICIPANTS = 250
MAX_BATCH = 200
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 100
MAX_MESSAGE_BYTES = 28 * 1024
MAX_TOPIC_CHARS = 1024
MAX_DISPLAY_NAME_CHARS = 256
MAX_RECEIPT_PARTICIPANTS = 20
MIN_TOKEN_MINUTES = 60
MAX_TOKEN_MINUTES = 1440

TOKEN_SCOPES = ("chat", "voip", "chat.join", "chat.join.limited", "voip.join")
CHAT_SCOPES = ("chat", "chat.join", "chat.join.limited")

_ACS_RE = re.compile(r"^8:(acs|dod-acs|gcch-acs|spool):[A-Za-z0-9-]+_[A-Za-z0-9-]+$")
_PHONE_RE = re.compile(r"^4:\+?[0-9]{3,15}$")
_TEAMS_USER_RE = re.compile(r"^8:(orgid|teamsvisitor|dod|gcch):[A-Za-z0-9-]+$")
_TEAMS_APP_RE = re.compile(r"^28:(orgid|dod|gcch):[A-Za-z0-9-]+$")
_CLOUD_PREFIX = {"public": "orgid", "dod": "dod", "gcch": "gcch"}
_PREFIX_CLOUD = {v: k for k, v in _CLOUD_PREFIX.items()}


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds (the model's only time unit)."""
    return int(time.time() * 1000)


# ----------------------------------------------------------------------------------------------- identifiers

def validate_raw_id(raw_id: object) -> str:
    """Return `raw_id` if it is a well-formed identifier, else BadRequest (the real service's 400)."""
    if not isinstance(raw_id, str) or not raw_id:
        raise BadRequest("Identifier format is invalid ().")
    if _ACS_RE.match(raw_id) or _PHONE_RE.match(raw_id) or _TEAMS_USER_RE.match(raw_id) or _TEAMS_APP_RE.match(raw_id):
        return raw_id
    raise BadRequest(f"Identifier format is invalid ({raw_id}).")


def is_acs_user(raw_id: str) -> bool:
    return bool(_ACS_RE.match(raw_id))


def parse_identifier(obj: object) -> str:
    """Raw id of a CommunicationIdentifierModel sent by a client (rawId, or derived from the sub-object)."""
    if not isinstance(obj, dict):
        raise BadRequest("A communication identifier must be a JSON object.")
    raw = obj.get("rawId")
    user = obj.get("communicationUser")
    phone = obj.get("phoneNumber")
    teams = obj.get("microsoftTeamsUser")
    app = obj.get("microsoftTeamsApp")
    derived = None
    if isinstance(user, dict):
        derived = user.get("id")
    elif isinstance(phone, dict) and isinstance(phone.get("value"), str):
        derived = "4:" + phone["value"]
    elif isinstance(teams, dict) and isinstance(teams.get("userId"), str):
        cloud = str(teams.get("cloud") or "public").lower()
        prefix = "teamsvisitor" if teams.get("isAnonymous") else _CLOUD_PREFIX.get(cloud, "orgid")
        derived = f"8:{prefix}:{teams['userId']}"
    elif isinstance(app, dict) and isinstance(app.get("appId"), str):
        cloud = str(app.get("cloud") or "public").lower()
        derived = f"28:{_CLOUD_PREFIX.get(cloud, 'orgid')}:{app['appId']}"
    if raw is None:
        raw = derived
    elif isinstance(user, dict) and derived is not None and derived != raw:
        raise BadRequest(f"Identifier format is invalid ({raw}).")
    return validate_raw_id(raw)


def identifier_model(raw_id: str) -> dict:
    """The response-side CommunicationIdentifierModel: always `rawId`, no `kind` (as the real service)."""
    if raw_id.startswith("8:") and _ACS_RE.match(raw_id):
        return {"rawId": raw_id, "communicationUser": {"id": raw_id}}
    if raw_id.startswith("4:"):
        return {"rawId": raw_id, "phoneNumber": {"value": raw_id[2:]}}
    m = re.match(r"^8:(orgid|teamsvisitor|dod|gcch):(.+)$", raw_id)
    if m:
        body: dict = {"userId": m.group(2), "isAnonymous": m.group(1) == "teamsvisitor"}
        if m.group(1) != "teamsvisitor":
            body["cloud"] = _PREFIX_CLOUD[m.group(1)]
        return {"rawId": raw_id, "microsoftTeamsUser": body}
    m = re.match(r"^28:(orgid|dod|gcch):(.+)$", raw_id)
    if m:
        return {"rawId": raw_id, "microsoftTeamsApp": {"appId": m.group(2), "cloud": _PREFIX_CLOUD[m.group(1)]}}
    return {"rawId": raw_id}


# ----------------------------------------------------------------------------------------------- data classes

@dataclass
class Identity:
    id: str
    kind: str = "acs"
    created_ms: int = 0
    gen: int = 0
    deleted: bool = False

    def record(self) -> dict:
        return {"kind": self.kind, "created": self.created_ms, "gen": self.gen, "deleted": self.deleted}


@dataclass(frozen=True)
class Caller:
    """An authenticated chat caller: user raw id and token scopes."""

    user_id: str
    scopes: frozenset

    @property
    def can_chat(self) -> bool:
        return any(s in self.scopes for s in CHAT_SCOPES)

    @property
    def full_chat(self) -> bool:
        return "chat" in self.scopes

    @property
    def can_manage_participants(self) -> bool:
        return "chat" in self.scopes or "chat.join" in self.scopes


@dataclass
class ParticipantSpec:
    """A participant as requested by a client (already validated raw id)."""

    raw_id: str
    display_name: str | None = None
    share_history_ms: int = 0


@dataclass
class Member:
    raw_id: str
    display_name: str | None
    share_history_ms: int
    removed_ms: int | None = None

    def record(self) -> dict:
        return {"raw": self.raw_id, "name": self.display_name, "share": self.share_history_ms,
                "removed": self.removed_ms}


@dataclass
class Message:
    id: str
    type: str
    seq: int
    version: str
    created_ms: int
    sender: str | None = None
    sender_display_name: str | None = None
    content: dict = field(default_factory=dict)
    metadata: dict | None = None
    edited_ms: int | None = None
    deleted_ms: int | None = None

    def record(self) -> dict:
        return {"id": self.id, "type": self.type, "seq": self.seq, "version": self.version,
                "created": self.created_ms, "sender": self.sender, "senderName": self.sender_display_name,
                "content": self.content, "metadata": self.metadata, "edited": self.edited_ms,
                "deleted": self.deleted_ms}

    @classmethod
    def from_record(cls, r: dict) -> Message:
        return cls(r["id"], r["type"], r["seq"], r["version"], r["created"], r.get("sender"), r.get("senderName"),
                   r.get("content") or {}, r.get("metadata"), r.get("edited"), r.get("deleted"))


@dataclass
class Receipt:
    raw_id: str
    message_id: str
    read_ms: int


@dataclass
class Thread:
    id: str
    topic: str
    created_ms: int
    created_by: str
    deleted_ms: int | None = None
    seq: int = 0
    last_id: int = 0
    last_message_ms: int | None = None
    activity_ms: int = 0
    members: dict[str, Member] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)  # index = seq - 1
    by_id: dict[str, Message] = field(default_factory=dict)
    receipts: dict[str, Receipt] = field(default_factory=dict)

    def record(self) -> dict:
        return {"id": self.id, "topic": self.topic, "created": self.created_ms, "createdBy": self.created_by,
                "deleted": self.deleted_ms, "seq": self.seq, "lastId": self.last_id,
                "lastMessage": self.last_message_ms, "activity": self.activity_ms}

    def active_members(self) -> list[Member]:
        return [m for m in self.members.values() if m.removed_ms is None]

    def is_member(self, raw_id: str) -> bool:
        m = self.members.get(raw_id)
        return m is not None and m.removed_ms is None


@dataclass
class Page:
    """One page of a listing; `cursor` (JSON-able dict) is None on the last page."""

    items: list
    cursor: dict | None


# ----------------------------------------------------------------------------------------------- rate limits

# op -> [(scope, limit, window seconds)]; scope in resource|user|thread|user_thread (wire spec §4, §9)
RATE_LIMITS: dict[str, list[tuple[str, int, int]]] = {
    "identity.create": [("resource", 1000, 30)],
    "identity.delete": [("resource", 500, 30)],
    "identity.get": [("resource", 1000, 30)],
    "token.issue": [("resource", 1000, 30)],
    "token.revoke": [("resource", 500, 30)],
    "token.exchange": [("resource", 500, 30)],
    "thread.create": [("user", 10, 10)],
    "thread.delete": [("user", 10, 10)],
    "thread.update": [("thread", 5, 10)],
    "thread.get": [("user", 50, 10)],
    "thread.list": [("user", 50, 10)],
    "participants.change": [("thread", 10, 10), ("thread", 30, 60)],
    "participants.list": [("user_thread", 10, 10), ("thread", 250, 10)],
    "message.get": [("user_thread", 50, 10), ("thread", 250, 10)],
    "message.list": [("user_thread", 50, 10), ("user_thread", 200, 60), ("thread", 250, 10), ("thread", 400, 60)],
    "message.write": [("thread", 10, 10), ("thread", 30, 60)],
    "receipt.list": [("user_thread", 5, 10), ("thread", 100, 10)],
    "receipt.send": [("user_thread", 10, 10), ("user_thread", 30, 60)],
    "typing": [("user_thread", 5, 10), ("user_thread", 15, 60), ("thread", 10, 10), ("thread", 30, 60)],
}


class RateLimiter:
    """Sliding-window counters per operation and scope; raises TooManyRequests with a Retry-After."""

    def __init__(self, enabled: bool = False, clock: Callable[[], float] = time.monotonic,
                 limits: dict[str, list[tuple[str, int, int]]] | None = None) -> None:
        self.enabled = enabled
        self._clock = clock
        self._limits = RATE_LIMITS if limits is None else limits
        self._windows: dict[tuple, deque] = {}
        self._lock = threading.Lock()

    def hit(self, op: str, user: str | None = None, thread: str | None = None) -> None:
        """Count one call of `op`; raise TooManyRequests when any of its windows is full."""
        if not self.enabled:
            return
        rules = self._limits.get(op)
        if not rules:
            return
        now = self._clock()
        keys = {"resource": "", "user": user or "", "thread": thread or "", "user_thread": f"{user}|{thread}"}
        with self._lock:
            logs = []
            for scope, limit, window in rules:
                key = (op, scope, keys[scope], window)
                log = self._windows.get(key)
                if log is None:
                    log = self._windows[key] = deque()
                while log and log[0] <= now - window:
                    log.popleft()
                if len(log) >= limit:
                    raise TooManyRequests(retry_after=math.ceil(log[0] + window - now))
                logs.append(log)
            for log in logs:
                log.append(now)
            if len(self._windows) > 100_000:
                self._windows = {k: v for k, v in self._windows.items() if v and v[-1] > now - k[3]}


# ----------------------------------------------------------------------------------------------- the model

class ChatModel:
    """All identities, tokens, threads, participants, messages and read receipts, with the service's rules."""

    def __init__(self, store: Store | None = None, resource_id: str | None = None,
                 token_secret: bytes | None = None, clock: Callable[[], int] = now_ms) -> None:
        self.store = store or MemoryStore()
        self.clock = clock
        self.lock = threading.RLock()
        self.identities: dict[str, Identity] = {}
        self.threads: dict[str, Thread] = {}
        self.memberships: dict[str, list[str]] = {}  # user -> thread ids (current and former)
        self.idempotency: dict[str, dict] = {}
        self._token_cache: dict[str, dict] = {}
        stored_resource = self.store.get_meta("resourceId")
        self.resource_id = stored_resource or resource_id or str(uuid.uuid4())
        secret = self.store.get_meta("tokenSecret")
        if secret is None:
            secret_bytes = token_secret or os.urandom(32)
            self.store.set_meta("tokenSecret", base64.b64encode(secret_bytes).decode())
        else:
            secret_bytes = base64.b64decode(secret)
        if stored_resource is None:
            self.store.set_meta("resourceId", self.resource_id)
        self.codec = TokenCodec(secret_bytes)
        self._load()

    # ------------------------------------------------------------------ persistence helpers
    def _load(self) -> None:
        st = self.store
        for key, r in st.load("identity"):
            self.identities[key] = Identity(key, r.get("kind", "acs"), r.get("created", 0), r.get("gen", 0),
                                            r.get("deleted", False))
        for key, r in st.load("thread"):
            self.threads[key] = Thread(r["id"], r["topic"], r["created"], r["createdBy"], r.get("deleted"),
                                       r.get("seq", 0), r.get("lastId", 0), r.get("lastMessage"),
                                       r.get("activity", r["created"]))
        for key, r in st.load("member"):
            t = self.threads.get(key.split("|", 1)[0])
            if t is not None:
                t.members[r["raw"]] = Member(r["raw"], r.get("name"), r.get("share", 0), r.get("removed"))
                self.memberships.setdefault(r["raw"], []).append(t.id)
        msgs: dict[str, list[Message]] = {}
        for key, r in st.load("message"):
            msgs.setdefault(key.split("|", 1)[0], []).append(Message.from_record(r))
        for tid, items in msgs.items():
            t = self.threads.get(tid)
            if t is None:
                continue
            items.sort(key=lambda m: m.seq)
            t.messages = items
            t.by_id = {m.id: m for m in items}
            if items:  # a user message does not rewrite its thread's record: its counters are derived here
                t.seq = max(t.seq, items[-1].seq)
                t.last_id = max(t.last_id, int(items[-1].id))
                t.activity_ms = max(t.activity_ms, items[-1].created_ms)
                sent = [m.created_ms for m in items if m.sender is not None]
                if sent:
                    t.last_message_ms = max(t.last_message_ms or 0, max(sent))
        for key, r in st.load("receipt"):
            t = self.threads.get(key.split("|", 1)[0])
            if t is not None:
                t.receipts[r["raw"]] = Receipt(r["raw"], r["message"], r["read"])
        for key, r in st.load("idem"):
            self.idempotency[key] = r

    def _save_thread(self, t: Thread) -> None:
        if self.store.persistent:
            self.store.put("thread", t.id, t.record())

    def _save_member(self, t: Thread, m: Member) -> None:
        if self.store.persistent:
            self.store.put("member", f"{t.id}|{m.raw_id}", m.record())

    def _save_message(self, t: Thread, m: Message) -> None:
        if self.store.persistent:
            self.store.put("message", f"{t.id}|{m.id}", m.record())

    def _save_identity(self, ident: Identity) -> None:
        if self.store.persistent:
            self.store.put("identity", ident.id, ident.record())

    def close(self) -> None:
        """Close the store (the model must not be used afterwards)."""
        with self.lock:
            self.store.close()

    # ------------------------------------------------------------------ identity
    def new_user_id(self) -> str:
        return f"8:acs:{self.resource_id}_{uuid.uuid4()}"

    def create_identity(self) -> Identity:
        """Create a new ACS user (POST /identities)."""
        with self.lock, self.store.transaction():
            ident = Identity(self.new_user_id(), "acs", self.clock())
            self.identities[ident.id] = ident
            self._save_identity(ident)
            return ident

    def get_identity(self, user_id: str) -> Identity:
        """A live identity, NotFound for unknown or deleted ones, BadRequest for malformed ids."""
        validate_raw_id(user_id)
        ident = self.identities.get(user_id)
        if ident is None or ident.deleted:
            raise NotFound(f"Identity {user_id} was not found.", code="IdentityNotFound")
        return ident

    def delete_identity(self, user_id: str) -> None:
        """Delete a user; this revokes all of its tokens."""
        with self.lock, self.store.transaction():
            ident = self.get_identity(user_id)
            ident.deleted = True
            ident.gen += 1
            self._save_identity(ident)
        self._token_cache.clear()

    def revoke_tokens(self, user_id: str) -> None:
        """Invalidate every token issued so far for the user (immediately, unlike the real service)."""
        with self.lock, self.store.transaction():
            ident = self.get_identity(user_id)
            ident.gen += 1
            self._save_identity(ident)
        self._token_cache.clear()

    @staticmethod
    def check_scopes(scopes: object) -> list[str]:
        if not isinstance(scopes, list) or not scopes:
            raise BadRequest("At least one scope is required.", code="ValidationError")
        for s in scopes:
            if not isinstance(s, str) or s.lower() not in TOKEN_SCOPES:
                raise BadRequest(f"Invalid scope '{s}'. Allowed scopes: {', '.join(TOKEN_SCOPES)}.",
                                 code="ValidationError")
        return list(dict.fromkeys(s.lower() for s in scopes))

    @staticmethod
    def check_minutes(minutes: object) -> int:
        if minutes is None:
            return MAX_TOKEN_MINUTES
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not (
                MIN_TOKEN_MINUTES <= minutes <= MAX_TOKEN_MINUTES):
            raise BadRequest(f"The expiresInMinutes must be an integer between {MIN_TOKEN_MINUTES} and "
                             f"{MAX_TOKEN_MINUTES}.", code="ValidationError")
        return minutes

    def issue_token(self, user_id: str, scopes: object, expires_in_minutes: object = None, *,
                    expires_at: int | None = None) -> tuple[str, int]:
        """Issue a token; returns (token, exp epoch seconds). `expires_at` is for tests only (may be past)."""
        scope_list = self.check_scopes(scopes)
        minutes = self.check_minutes(expires_in_minutes)
        with self.lock:
            ident = self.get_identity(user_id)
            iat = self.clock() // 1000
            exp = expires_at if expires_at is not None else iat + minutes * 60
            skype = ident.id[2:] if ident.id.startswith("8:") else ident.id
            claims = {"skypeid": skype, "scp": 1792, "csi": str(iat), "iat": iat, "exp": exp,
                      "acsScope": ",".join(scope_list), "resourceId": self.resource_id,
                      "resourceLocation": "emulator", "rgn": "emulator", "gen": ident.gen}
            return self.codec.encode(claims), exp

    def exchange_teams_token(self, aad_token: object, app_id: object, user_id: object) -> tuple[str, int]:
        """Exchange a Teams (Entra ID) token for an ACS token of user `8:orgid:<userId>` (voip scope).

        The emulator cannot validate Entra ID signatures; it checks that the three values are present and,
        when the AAD token is a readable JWT, that it is not expired and names the same user and app.
        """
        for name, value in (("token", aad_token), ("appId", app_id), ("userId", user_id)):
            if not isinstance(value, str) or not value.strip():
                raise BadRequest(f"The {name} field is required.", code="ValidationError")
        if not re.match(r"^[A-Za-z0-9-]+$", user_id):
            raise BadRequest("The userId must be an Entra ID object id.", code="ValidationError")
        now_s = self.clock() // 1000
        exp = now_s + 3600
        parts = aad_token.split(".")
        if len(parts) >= 3:
            try:
                claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
            except (ValueError, TypeError):
                claims = None
            if isinstance(claims, dict):
                aad_exp = claims.get("exp")
                if isinstance(aad_exp, (int, float)):
                    if aad_exp <= now_s:
                        raise Unauthorized("The Teams access token has expired.", code="InvalidAccessToken")
                    exp = min(int(aad_exp), now_s + MAX_TOKEN_MINUTES * 60)
                oid = claims.get("oid")
                if isinstance(oid, str) and oid != user_id:
                    raise BadRequest("The userId does not match the Teams access token.", code="ValidationError")
                app = claims.get("appid") or claims.get("azp")
                if isinstance(app, str) and app != app_id:
                    raise BadRequest("The appId does not match the Teams access token.", code="ValidationError")
        raw = f"8:orgid:{user_id}"
        with self.lock, self.store.transaction():
            ident = self.identities.get(raw)
            if ident is None or ident.deleted:
                ident = Identity(raw, "teams", self.clock())
                self.identities[raw] = ident
                self._save_identity(ident)
            claims = {"skypeid": raw[2:], "scp": 1024, "csi": str(now_s), "iat": now_s, "exp": exp,
                      "acsScope": "voip", "resourceId": self.resource_id, "resourceLocation": "emulator",
                      "rgn": "emulator", "gen": ident.gen}
            return self.codec.encode(claims), exp

    def authenticate(self, token: str) -> Caller:
        """Caller behind a bearer token; Unauthorized for forged, expired, revoked or deleted-user tokens."""
        claims = self._token_cache.get(token)
        if claims is None:
            claims = self.codec.decode(token)
            if len(self._token_cache) > 10_000:
                self._token_cache.clear()
            self._token_cache[token] = claims
        if claims["exp"] * 1000 <= self.clock():
            raise Unauthorized("Request is not authorized. The access token has expired.")
        user = "8:" + str(claims.get("skypeid", ""))
        ident = self.identities.get(user)
        if ident is None or ident.deleted:
            raise Unauthorized("Request is not authorized. The identity does not exist.")
        if claims.get("gen") != ident.gen:
            raise Unauthorized("Request is not authorized. The access token has been revoked.")
        scopes = claims.get("_scopes")
        if scopes is None:
            scopes = frozenset(s for s in str(claims.get("acsScope", "")).split(",") if s)
            claims["_scopes"] = scopes
        return Caller(user, scopes)

    # ------------------------------------------------------------------ thread helpers
    def _thread(self, tid: str) -> Thread:
        t = self.threads.get(tid)
        if t is None or t.deleted_ms is not None:
            raise NotFound(f"Thread {tid} was not found.", code="NotFound")
        return t

    @staticmethod
    def _require_chat(caller: Caller) -> None:
        if not caller.can_chat:
            raise Forbidden("The access token does not have a chat scope.")

    def _member_thread(self, caller: Caller, tid: str) -> Thread:
        self._require_chat(caller)
        t = self._thread(tid)
        if not t.is_member(caller.user_id):
            raise Forbidden()
        return t

    def _append(self, t: Thread, mtype: str, sender: str | None, content: dict, *,
                sender_display_name: str | None = None, metadata: dict | None = None) -> Message:
        now = self.clock()
        mid = max(now, t.last_id + 1)
        t.last_id = mid
        t.seq += 1
        m = Message(str(mid), mtype, t.seq, str(mid), now, sender, sender_display_name, content, metadata)
        t.messages.append(m)
        t.by_id[m.id] = m
        t.activity_ms = max(t.activity_ms, now)
        if sender is not None:
            t.last_message_ms = now
        self._save_message(t, m)
        return m

    @staticmethod
    def _participants_content(members: Iterable[Member], initiator: str) -> dict:
        return {"participants": [{"raw": m.raw_id, "name": m.display_name, "share": m.share_history_ms}
                                 for m in members], "initiator": initiator}

    @staticmethod
    def check_topic(topic: object) -> str:
        if not isinstance(topic, str) or not topic.strip():
            raise BadRequest("The topic is required.", code="ValidationError")
        if len(topic) > MAX_TOPIC_CHARS:
            raise BadRequest(f"The topic exceeds {MAX_TOPIC_CHARS} characters.", code="ValidationError")
        return topic

    @staticmethod
    def check_display_name(name: object) -> str | None:
        if name is None:
            return None
        if not isinstance(name, str):
            raise BadRequest("The display name must be a string.", code="ValidationError")
        if len(name) > MAX_DISPLAY_NAME_CHARS:
            raise BadRequest(f"The display name exceeds {MAX_DISPLAY_NAME_CHARS} characters.", code="ValidationError")
        return name

    def _known_user(self, raw_id: str) -> bool:
        ident = self.identities.get(raw_id)
        return ident is not None and not ident.deleted

    @staticmethod
    def _invalid(raw_id: str) -> dict:
        return {"code": "403", "message": "Permissions check failed", "target": raw_id}

    def _index(self, user: str, tid: str) -> None:
        lst = self.memberships.setdefault(user, [])
        if tid not in lst:
            lst.append(tid)

    # ------------------------------------------------------------------ threads
    def create_thread(self, caller: Caller, topic: object, participants: list[ParticipantSpec],
                      request_id: str | None = None) -> tuple[Thread, list[dict]]:
        """Create a thread with the caller plus valid participants; returns (thread, invalidParticipants)."""
        self._require_chat(caller)
        if not caller.full_chat:
            raise Forbidden("The access token scope does not allow creating threads.")
        topic = self.check_topic(topic)
        if len(participants) > MAX_BATCH:
            raise BadRequest(f"At most {MAX_BATCH} participants can be added at once.", code="ValidationError")
        with self.lock:
            idem_key = f"{caller.user_id}|{request_id}" if request_id else None
            if idem_key and idem_key in self.idempotency:
                prior = self.idempotency[idem_key]
                t = self.threads.get(prior["thread"])
                if t is not None:
                    return t, list(prior.get("invalid", []))
            with self.store.transaction():
                now = self.clock()
                specs: dict[str, ParticipantSpec] = {}
                invalid: list[dict] = []
                for p in participants:
                    if p.raw_id in specs or any(i["target"] == p.raw_id for i in invalid):
                        continue
                    if p.raw_id == caller.user_id or self._known_user(p.raw_id):
                        specs[p.raw_id] = p
                    else:
                        invalid.append(self._invalid(p.raw_id))
                creator = specs.pop(caller.user_id, ParticipantSpec(caller.user_id))
                ordered = [creator, *specs.values()]
                if len(ordered) > MAX_PARTICIPANTS:
                    raise BadRequest(f"A thread can have at most {MAX_PARTICIPANTS} participants.",
                                     code="ValidationError")
                tid = "19:" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=") + "1@thread.v2"
                t = Thread(tid, topic, now, caller.user_id, activity_ms=now)
                for p in ordered:
                    m = Member(p.raw_id, p.display_name, p.share_history_ms)
                    t.members[m.raw_id] = m
                    self._save_member(t, m)
                    self._index(m.raw_id, tid)
                self.threads[tid] = t
                self._append(t, "participantAdded", None, self._participants_content(t.members.values(),
                                                                                      caller.user_id))
                self._append(t, "topicUpdated", None, {"topic": topic, "initiator": caller.user_id})
                self._save_thread(t)
                if idem_key:
                    self.idempotency[idem_key] = {"thread": tid, "invalid": invalid}
                    if self.store.persistent:
                        self.store.put("idem", idem_key, self.idempotency[idem_key])
                return t, invalid

    def get_thread(self, caller: Caller, tid: str) -> Thread:
        with self.lock:
            return self._member_thread(caller, tid)

    def update_topic(self, caller: Caller, tid: str, topic: object) -> None:
        """Change the topic (chat scope); adds a topicUpdated system message. `None` is a no-op."""
        with self.lock:
            t = self._member_thread(caller, tid)
            if not caller.full_chat:
                raise Forbidden("The access token scope does not allow updating threads.")
            if topic is None:
                return
            topic = self.check_topic(topic)
            with self.store.transaction():
                t.topic = topic
                self._append(t, "topicUpdated", None, {"topic": topic, "initiator": caller.user_id})
                self._save_thread(t)

    def delete_thread(self, caller: Caller, tid: str) -> None:
        """Mark the thread deleted; afterwards every thread-scoped call answers 404."""
        with self.lock:
            t = self._member_thread(caller, tid)
            if not caller.full_chat:
                raise Forbidden("The access token scope does not allow deleting threads.")
            with self.store.transaction():
                t.deleted_ms = self.clock()
                t.activity_ms = max(t.activity_ms, t.deleted_ms)
                self._save_thread(t)

    def list_threads(self, caller: Caller, max_page_size: int, start_ms: int | None,
                     cursor: dict | None = None) -> Page:
        """Threads the caller is or was in, most recent activity first."""
        self._require_chat(caller)
        with self.lock:
            if cursor:
                start_ms, offset = cursor.get("s"), int(cursor.get("o", 0))
            else:
                offset = 0
            threads = [self.threads[tid] for tid in self.memberships.get(caller.user_id, ())
                       if tid in self.threads]
            if start_ms is not None:
                threads = [t for t in threads if t.activity_ms >= start_ms]
            threads.sort(key=lambda t: (t.activity_ms, t.created_ms), reverse=True)
            items = threads[offset:offset + max_page_size]
            nxt = offset + len(items)
            more = nxt < len(threads)
            return Page(items, {"o": nxt, "s": start_ms} if more else None)

    # ------------------------------------------------------------------ messages
    def _check_message_size(self, content: str | None, metadata: dict | None) -> None:
        size = len(content.encode("utf-8")) if content else 0
        if metadata:
            size += len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
        if size > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(f"The message exceeds the maximum size of {MAX_MESSAGE_BYTES} bytes.",
                                  code="MessageTooLarge")

    @staticmethod
    def check_metadata(metadata: object) -> dict | None:
        if metadata is None:
            return None
        if not isinstance(metadata, dict) or not all(
                isinstance(k, str) and (isinstance(v, str) or v is None) for k, v in metadata.items()):
            raise BadRequest("The metadata must be an object of string values.", code="ValidationError")
        return metadata

    def send_message(self, caller: Caller, tid: str, content: object, message_type: object = "text",
                     sender_display_name: object = None, metadata: object = None) -> Message:
        """Append a user message; returns it (id = epoch ms, unique and increasing per thread)."""
        if not isinstance(content, str) or not content:
            raise BadRequest("The message content is required.", code="ValidationError")
        mtype = "text" if message_type is None else message_type
        if not isinstance(mtype, str) or mtype.lower() not in ("text", "html"):
            raise BadRequest(f"Invalid message type '{message_type}'.", code="ValidationError")
        mtype = mtype.lower()
        name = self.check_display_name(sender_display_name)
        meta = self.check_metadata(metadata)
        meta = {k: v for k, v in meta.items() if v is not None} if meta else None
        self._check_message_size(content, meta)
        with self.lock:
            t = self._member_thread(caller, tid)
            with self.store.transaction():  # the message record alone: the thread's counters follow from it
                return self._append(t, mtype, caller.user_id, {"message": content},
                                    sender_display_name=name if name is not None else "", metadata=meta or None)

    def _visible(self, t: Thread, caller: Caller) -> tuple[int, int | None]:
        """(from_ms, until_ms) window of messages the caller may read; Forbidden if none."""
        self._require_chat(caller)
        m = t.members.get(caller.user_id)
        if m is None:
            raise Forbidden()
        return m.share_history_ms, m.removed_ms

    def get_message(self, caller: Caller, tid: str, mid: str) -> Message:
        with self.lock:
            t = self._thread(tid)
            lo, hi = self._visible(t, caller)
            m = t.by_id.get(mid)
            if m is None or m.created_ms < lo or (hi is not None and m.created_ms > hi):
                raise NotFound(f"Message {mid} was not found.", code="NotFound")
            return m

    def list_messages(self, caller: Caller, tid: str, max_page_size: int, start_ms: int | None,
                      cursor: dict | None = None) -> Page:
        """Messages newest first (system and soft-deleted included), honouring shareHistoryTime."""
        with self.lock:
            t = self._thread(tid)
            lo, hi = self._visible(t, caller)
            if cursor:
                start_ms = cursor.get("s")
                before = int(cursor.get("b", 0))
            else:
                before = t.seq + 1
            floor = max(lo, start_ms or 0)
            items: list[Message] = []
            i = min(before - 1, len(t.messages)) - 1
            more = False
            while i >= 0:
                m = t.messages[i]
                i -= 1
                if m.created_ms < floor or (hi is not None and m.created_ms > hi):
                    continue
                if len(items) >= max_page_size:
                    more = True
                    break
                items.append(m)
            return Page(items, {"b": items[-1].seq, "s": start_ms} if more and items else None)

    def _own_message(self, caller: Caller, tid: str, mid: str) -> tuple[Thread, Message]:
        t = self._member_thread(caller, tid)
        m = t.by_id.get(mid)
        member = t.members[caller.user_id]
        if m is None or m.created_ms < member.share_history_ms:
            raise NotFound(f"Message {mid} was not found.", code="NotFound")
        if m.sender != caller.user_id:
            raise Forbidden("Only the sender can change a message.")
        return t, m

    def _bump_version(self, m: Message, now: int) -> None:
        m.version = str(max(now, int(m.version) + 1))

    def update_message(self, caller: Caller, tid: str, mid: str, content: object = None,
                       metadata: object = None) -> None:
        """Edit own message: sets editedOn, bumps version; metadata merges (null removes a key)."""
        if content is not None and (not isinstance(content, str) or not content):
            raise BadRequest("The message content must be a non-empty string.", code="ValidationError")
        meta = self.check_metadata(metadata)
        with self.lock:
            t, m = self._own_message(caller, tid, mid)
            if m.deleted_ms is not None:
                raise Forbidden("A deleted message cannot be edited.")
            new_meta = dict(m.metadata or {})
            if meta:
                for k, v in meta.items():
                    if v is None:
                        new_meta.pop(k, None)
                    else:
                        new_meta[k] = v
            new_content = content if content is not None else m.content.get("message", "")
            self._check_message_size(new_content, new_meta)
            with self.store.transaction():
                now = self.clock()
                m.content = {"message": new_content}
                m.metadata = new_meta or None
                m.edited_ms = now
                self._bump_version(m, now)
                self._save_message(t, m)

    def delete_message(self, caller: Caller, tid: str, mid: str) -> None:
        """Soft delete own message: content emptied, deletedOn set, version bumped (repeat is a no-op)."""
        with self.lock:
            t, m = self._own_message(caller, tid, mid)
            if m.deleted_ms is not None:
                return
            with self.store.transaction():
                now = self.clock()
                m.content = {"message": ""}
                m.deleted_ms = now
                self._bump_version(m, now)
                self._save_message(t, m)

    def send_typing(self, caller: Caller, tid: str, sender_display_name: object = None) -> None:
        """Typing notifications are stateless; only the access rules apply."""
        self.check_display_name(sender_display_name)
        with self.lock:
            self._member_thread(caller, tid)

    # ------------------------------------------------------------------ read receipts
    def send_read_receipt(self, caller: Caller, tid: str, mid: object) -> None:
        """Remember the caller's latest receipt (ignored in threads with more than 20 participants)."""
        if not isinstance(mid, str) or not mid:
            raise BadRequest("The chatMessageId is required.", code="ValidationError")
        with self.lock:
            t = self._member_thread(caller, tid)
            m = t.by_id.get(mid)
            if m is None or m.created_ms < t.members[caller.user_id].share_history_ms:
                raise NotFound(f"Message {mid} was not found.", code="NotFound")
            if len(t.active_members()) > MAX_RECEIPT_PARTICIPANTS:
                return
            r = Receipt(caller.user_id, mid, self.clock())
            with self.store.transaction():
                t.receipts.pop(caller.user_id, None)
                t.receipts[caller.user_id] = r
                if self.store.persistent:
                    self.store.put("receipt", f"{t.id}|{r.raw_id}", {"raw": r.raw_id, "message": mid,
                                                                     "read": r.read_ms})

    def list_read_receipts(self, caller: Caller, tid: str, max_page_size: int, skip: int,
                           cursor: dict | None = None) -> Page:
        """One receipt per participant (their latest), oldest first."""
        with self.lock:
            t = self._member_thread(caller, tid)
            offset = int(cursor.get("o", 0)) if cursor else skip
            receipts = list(t.receipts.values())
            items = receipts[offset:offset + max_page_size]
            nxt = offset + len(items)
            return Page(items, {"o": nxt} if nxt < len(receipts) and items else None)

    # ------------------------------------------------------------------ participants
    def add_participants(self, caller: Caller, tid: str, participants: list[ParticipantSpec]) -> list[dict]:
        """Add participants; unknown users come back as invalidParticipants. One participantAdded message."""
        if not participants:
            raise BadRequest("At least one participant is required.", code="ValidationError")
        if len(participants) > MAX_BATCH:
            raise BadRequest(f"At most {MAX_BATCH} participants can be added at once.", code="ValidationError")
        with self.lock:
            t = self._member_thread(caller, tid)
            if not caller.can_manage_participants:
                raise Forbidden("The access token scope does not allow adding participants.")
            invalid: list[dict] = []
            new: dict[str, ParticipantSpec] = {}
            for p in participants:
                if p.raw_id in new or t.is_member(p.raw_id) or any(i["target"] == p.raw_id for i in invalid):
                    continue
                if self._known_user(p.raw_id):
                    new[p.raw_id] = p
                else:
                    invalid.append(self._invalid(p.raw_id))
            if len(t.active_members()) + len(new) > MAX_PARTICIPANTS:
                raise BadRequest(f"A thread can have at most {MAX_PARTICIPANTS} participants.",
                                 code="ValidationError")
            if new:
                with self.store.transaction():
                    added = []
                    for p in new.values():
                        m = Member(p.raw_id, p.display_name, p.share_history_ms)
                        t.members.pop(p.raw_id, None)
                        t.members[p.raw_id] = m
                        self._save_member(t, m)
                        self._index(p.raw_id, tid)
                        added.append(m)
                    self._append(t, "participantAdded", None, self._participants_content(added, caller.user_id))
                    self._save_thread(t)
            return invalid

    def list_participants(self, caller: Caller, tid: str, max_page_size: int, skip: int,
                          cursor: dict | None = None) -> Page:
        with self.lock:
            t = self._member_thread(caller, tid)
            offset = int(cursor.get("o", 0)) if cursor else skip
            members = t.active_members()
            items = members[offset:offset + max_page_size]
            nxt = offset + len(items)
            return Page(items, {"o": nxt} if nxt < len(members) and items else None)

    def remove_participant(self, caller: Caller, tid: str, raw_id: str) -> None:
        """Remove a participant (may be the caller); adds a participantRemoved message."""
        validate_raw_id(raw_id)
        with self.lock:
            t = self._member_thread(caller, tid)
            if not caller.can_manage_participants:
                raise Forbidden("The access token scope does not allow removing participants.")
            m = t.members.get(raw_id)
            if m is None or m.removed_ms is not None:
                raise NotFound(f"Participant {raw_id} was not found in the thread.", code="NotFound")
            with self.store.transaction():
                self._append(t, "participantRemoved", None, self._participants_content([m], caller.user_id))
                m.removed_ms = t.messages[-1].created_ms
                self._save_member(t, m)
                self._save_thread(t)
