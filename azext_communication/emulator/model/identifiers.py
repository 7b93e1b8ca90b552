"""Communication identifiers: raw-id formats, request-side parsing and the response-side model (wire spec §6)."""

from __future__ import annotations

import re

from ..errors import BadRequest

_ACS_RE = re.compile(r"^8:(acs|dod-acs|gcch-acs|spool):[A-Za-z0-9-]+_[A-Za-z0-9-]+$")
_PHONE_RE = re.compile(r"^4:\+?[0-9]{3,15}$")
_TEAMS_USER_RE = re.compile(r"^8:(orgid|teamsvisitor|dod|gcch):[A-Za-z0-9-]+$")
_TEAMS_APP_RE = re.compile(r"^28:(orgid|dod|gcch):[A-Za-z0-9-]+$")
_TEAMS_USER_PARTS = re.compile(r"^8:(orgid|teamsvisitor|dod|gcch):(.+)$")
_TEAMS_APP_PARTS = re.compile(r"^28:(orgid|dod|gcch):(.+)$")
_CLOUD_PREFIX = {"public": "orgid", "dod": "dod", "gcch": "gcch"}
_PREFIX_CLOUD = {v: k for k, v in _CLOUD_PREFIX.items()}


def validate_raw_id(raw_id: object) -> str:
    """Return `raw_id` if it is a well-formed identifier, else BadRequest (the real service's 400)."""
    if not isinstance(raw_id, str) or not raw_id:
        raise BadRequest("Identifier format is invalid ().")
    if _ACS_RE.match(raw_id) or _PHONE_RE.match(raw_id) or _TEAMS_USER_RE.match(raw_id) or _TEAMS_APP_RE.match(raw_id):
        return raw_id
    raise BadRequest(f"Identifier format is invalid ({raw_id}).")


def is_acs_user(raw_id: str) -> bool:
    """True for Communication Services user ids (`8:acs:...` and the sovereign-cloud forms)."""
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
    m = _TEAMS_USER_PARTS.match(raw_id)
    if m:
        body: dict = {"userId": m.group(2), "isAnonymous": m.group(1) == "teamsvisitor"}
        if m.group(1) != "teamsvisitor":
            body["cloud"] = _PREFIX_CLOUD[m.group(1)]
        return {"rawId": raw_id, "microsoftTeamsUser": body}
    m = _TEAMS_APP_PARTS.match(raw_id)
    if m:
        return {"rawId": raw_id, "microsoftTeamsApp": {"appId": m.group(2), "cloud": _PREFIX_CLOUD[m.group(1)]}}
    return {"rawId": raw_id}
