"""Identities and access tokens: users, their token generations (revocation), issuing and checking tokens.

The facade (`ChatModel`) holds the model lock around every call that changes state; reads here are lock-free
dictionary lookups, as before the split.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable

from ..errors import BadRequest, NotFound, Unauthorized
from ..store import Store
from ..tokens import TokenCodec
from .identifiers import validate_raw_id
from .persist import save_identity
from .records import Caller, Identity
from .rules import MAX_TOKEN_MINUTES, check_minutes, check_scopes

_OBJECT_ID_RE = re.compile(r"^[A-Za-z0-9-]+$")


class Identities:
    """All users of the resource and the tokens issued for them."""

    def __init__(self, store: Store, clock: Callable[[], int], resource_id: str, codec: TokenCodec) -> None:
        self.store = store
        self.clock = clock
        self.resource_id = resource_id
        self.codec = codec
        self.identities: dict[str, Identity] = {}
        self._token_cache: dict[str, dict] = {}
        for key, r in store.load("identity"):
            self.identities[key] = Identity(key, r.get("kind", "acs"), r.get("created", 0), r.get("gen", 0),
                                            r.get("deleted", False))

    def known_user(self, raw_id: str) -> bool:
        """A live identity of this resource (chat may only add those)."""
        ident = self.identities.get(raw_id)
        return ident is not None and not ident.deleted

    def new_user_id(self) -> str:
        return f"8:acs:{self.resource_id}_{uuid.uuid4()}"

    def create(self) -> Identity:
        """Create a new ACS user (POST /identities)."""
        with self.store.transaction():
            ident = Identity(self.new_user_id(), "acs", self.clock())
            self.identities[ident.id] = ident
            save_identity(self.store, ident)
            return ident

    def get(self, user_id: str) -> Identity:
        """A live identity, NotFound for unknown or deleted ones, BadRequest for malformed ids."""
        validate_raw_id(user_id)
        ident = self.identities.get(user_id)
        if ident is None or ident.deleted:
            raise NotFound(f"Identity {user_id} was not found.", code="IdentityNotFound")
        return ident

    def delete(self, user_id: str) -> None:
        """Delete a user; this revokes all of its tokens."""
        with self.store.transaction():
            ident = self.get(user_id)
            ident.deleted = True
            ident.gen += 1
            save_identity(self.store, ident)

    def revoke(self, user_id: str) -> None:
        """Invalidate every token issued so far for the user (immediately, unlike the real service)."""
        with self.store.transaction():
            ident = self.get(user_id)
            ident.gen += 1
            save_identity(self.store, ident)

    def forget_tokens(self) -> None:
        """Drop decoded tokens (after a revocation or deletion they must be checked again)."""
        self._token_cache.clear()

    def issue(self, user_id: str, scopes: object, expires_in_minutes: object = None, *,
              expires_at: int | None = None) -> tuple[str, int]:
        """Issue a token; returns (token, exp epoch seconds). `expires_at` is for tests only (may be past)."""
        scope_list = check_scopes(scopes)
        minutes = check_minutes(expires_in_minutes)
        ident = self.get(user_id)
        iat = self.clock() // 1000
        exp = expires_at if expires_at is not None else iat + minutes * 60
        skype = ident.id[2:] if ident.id.startswith("8:") else ident.id
        claims = {"skypeid": skype, "scp": 1792, "csi": str(iat), "iat": iat, "exp": exp,
                  "acsScope": ",".join(scope_list), "resourceId": self.resource_id,
                  "resourceLocation": "emulator", "rgn": "emulator", "gen": ident.gen}
        return self.codec.encode(claims), exp

    def exchange_teams(self, aad_token: object, app_id: object, user_id: object) -> tuple[str, int]:
        """Exchange a Teams (Entra ID) token for an ACS token of user `8:orgid:<userId>` (voip scope).

        The emulator cannot validate Entra ID signatures; it checks that the three values are present and,
        when the AAD token is a readable JWT, that it is not expired and names the same user and app.
        """
        for name, value in (("token", aad_token), ("appId", app_id), ("userId", user_id)):
            if not isinstance(value, str) or not value.strip():
                raise BadRequest(f"The {name} field is required.", code="ValidationError")
        if not _OBJECT_ID_RE.match(user_id):
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
        with self.store.transaction():
            ident = self.identities.get(raw)
            if ident is None or ident.deleted:
                ident = Identity(raw, "teams", self.clock())
                self.identities[raw] = ident
                save_identity(self.store, ident)
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
