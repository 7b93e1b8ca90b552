"""Identity service handlers (wire spec §4): users, access tokens, the Teams token exchange. HMAC-signed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import NotFound
from ..model import validate_raw_id
from ..model.rules import check_minutes, check_scopes
from .http import ApiVersions, Request, Result, allow
from .shapes import fmt_expires

if TYPE_CHECKING:
    from .app import WireApp

IDENTITY_API_VERSIONS = ApiVersions(
    "2020-07-20-preview2", "2021-02-22-preview1", "2021-03-07", "2021-03-31-preview1", "2021-10-31-preview",
    "2021-11-01", "2022-06-01", "2022-10-01", "2023-08-01", "2023-10-01",
)


def _token_json(token: str, exp: int) -> dict:
    return {"token": token, "expiresOn": fmt_expires(exp)}


def handle_teams_exchange(app: WireApp, req: Request) -> Result:
    """POST /teamsUser/:exchangeAccessToken."""
    allow(req, "POST")
    IDENTITY_API_VERSIONS.check(req, app.host(req))
    app.check_hmac(req)
    app.limiter.hit("token.exchange")
    body = req.json()
    token, exp = app.model.exchange_teams_token(body.get("token"), body.get("appId"), body.get("userId"))
    return 200, _token_json(token, exp), [IDENTITY_API_VERSIONS.header]


def handle_identity(app: WireApp, req: Request, rest: list[str]) -> Result:
    """/identities, /identities/{id}, /identities/{id}/:issueAccessToken and /:revokeAccessTokens."""
    model, lim = app.model, app.limiter
    if not rest:
        allow(req, "POST")
    elif len(rest) == 1:
        allow(req, "DELETE", "GET")
    elif len(rest) == 2 and rest[1].lower() in (":issueaccesstoken", ":revokeaccesstokens"):
        allow(req, "POST")
    else:
        raise NotFound("Not Found")
    IDENTITY_API_VERSIONS.check(req, app.host(req))
    app.check_hmac(req)
    hdrs = [IDENTITY_API_VERSIONS.header]
    if not rest:
        lim.hit("identity.create")
        body = req.json(required=False)
        scopes = body.get("createTokenWithScopes")
        if scopes:
            scopes = check_scopes(scopes)
            minutes = check_minutes(body.get("expiresInMinutes"))
            ident = model.create_identity()
            token, exp = model.issue_token(ident.id, scopes, minutes)
            return 201, {"identity": {"id": ident.id}, "accessToken": _token_json(token, exp)}, hdrs
        if body.get("expiresInMinutes") is not None:
            check_minutes(body.get("expiresInMinutes"))
        ident = model.create_identity()
        return 201, {"identity": {"id": ident.id}}, hdrs
    user_id = validate_raw_id(rest[0])
    if len(rest) == 1:
        if req.method == "GET":
            lim.hit("identity.get")
            ident = model.get_identity(user_id)
            return 200, {"id": ident.id}, hdrs
        lim.hit("identity.delete")
        model.delete_identity(user_id)
        return 204, None, hdrs
    if rest[1].lower() == ":issueaccesstoken":
        lim.hit("token.issue")
        body = req.json()
        token, exp = model.issue_token(user_id, body.get("scopes"), body.get("expiresInMinutes"))
        return 200, _token_json(token, exp), hdrs
    lim.hit("token.revoke")
    model.revoke_tokens(user_id)
    return 204, None, hdrs
