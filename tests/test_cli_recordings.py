"""The cassettes hold no secret and no live detail, and the scrubber does what the recordings rely on."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from cli_recording import (
    FORBIDDEN,
    PLACEHOLDER_HOST,
    PLACEHOLDER_KEY,
    PLACEHOLDER_TOKEN,
    RECORDINGS,
    ZERO_RESOURCE,
    Scrubber,
    placeholder_user,
)

CASSETTES = sorted(RECORDINGS.glob("*.yaml"))
SCENARIOS = sorted(Path(__file__).resolve().parent.glob("test_cli_scenarios*.py"))


def test_there_is_one_cassette_per_scenario():
    names = {n for s in SCENARIOS for n in re.findall(r"^def (test_\w+)\(target", s.read_text(), re.MULTILINE)}
    assert names and {c.stem for c in CASSETTES} == names


@pytest.mark.parametrize("cassette", CASSETTES, ids=lambda p: p.stem)
def test_cassette_holds_no_secret_and_no_live_detail(cassette: Path):
    text = cassette.read_text()
    for pattern in FORBIDDEN:
        assert not pattern.search(text), f"{cassette.name} matches {pattern.pattern}"
    lowered = text.lower()
    for header in ("authorization", "x-ms-client-request-id", "repeatability-request-id", "user-agent",
                   "x-ms-content-sha256", "x-ms-date"):
        assert f"{header}:" not in lowered, f"{cassette.name} keeps the {header} header"
    assert "127.0.0.1" not in text and "localhost" not in text
    hosts = set(re.findall(r"https://([^/\s'\"]+)", text))
    assert hosts <= {PLACEHOLDER_HOST}, hosts
    ids = set(re.findall(r"8(?::|%3A)acs(?::|%3A)([0-9A-Za-z-]+)_", text))
    assert ids <= {ZERO_RESOURCE}, f"live user ids in {cassette.name}: {ids}"
    assert "hmac-sha256" not in lowered and "bearer " not in lowered


ALL_FILES = sorted(p for p in RECORDINGS.rglob("*") if p.is_file())
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]*")  # JSON header . JSON payload, any length
TOKEN_FIELD = re.compile(r"\\?\"(?:token|accessToken)\\?\"\s*:\s*\\?\"([^\"\\]*)")
ACCESS_KEY_VALUE = re.compile(r"(?i)accesskey=([^;\s'\"\\]*)")


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(RECORDINGS)))
def test_no_token_or_access_key_in_any_committed_recording(path: Path):
    """Every file under tests/recordings (any folder, any extension): no JWT of any length, every token field and
    every accesskey= holds the placeholder, no signed or bearer Authorization value."""
    text = path.read_text(errors="replace")
    assert not JWT_SHAPE.search(text), f"{path.name} holds a JWT"
    assert {m.group(1) for m in TOKEN_FIELD.finditer(text)} <= {PLACEHOLDER_TOKEN}, f"{path.name} holds a token"
    assert {m.group(1) for m in ACCESS_KEY_VALUE.finditer(text)} <= {PLACEHOLDER_KEY}, f"{path.name} holds a key"
    for marker in ("Signature=", "Bearer ", "HMAC-SHA256"):
        assert marker.lower() not in text.lower(), f"{path.name} holds '{marker}'"


def test_secret_scan_catches_what_it_is_for():
    """The patterns of the scan above find a real-looking token, a token field and a key (no silent pass)."""
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln"
    assert JWT_SHAPE.search(f"x {jwt} y")
    assert [m.group(1) for m in TOKEN_FIELD.finditer('{"accessToken": {"token": "opaque"}}')] == ["opaque"]
    assert [m.group(1) for m in TOKEN_FIELD.finditer('string: \'{\\"token\\": \\"opaque\\"}\'')] == ["opaque"]
    assert [m.group(1) for m in ACCESS_KEY_VALUE.finditer("endpoint=https://h/;accesskey=abc=")] == ["abc="]


def test_placeholder_token_parses_like_an_acs_token_but_is_not_a_jwt():
    from azext_communication._settings import parse_access_token_expiry

    assert parse_access_token_expiry(PLACEHOLDER_TOKEN).year == 2100
    assert not PLACEHOLDER_TOKEN.startswith("eyJ") and ".eyJ" not in PLACEHOLDER_TOKEN


def test_scrubber_rewrites_ids_hosts_and_tokens_consistently():
    scrubber = Scrubber("127.0.0.1:4443")
    real = "8:acs:724ad702-976a-5a4a-aa9e-23b36654da43_a4583a02-4984-4250-9f12-34da79f79951"
    other = "8:acs:724ad702-976a-5a4a-aa9e-23b36654da43_b0000000-4984-4250-9f12-34da79f79951"
    encoded = real.replace(":", "%3A")
    jwt = "eyJhbGciOiJIUzI1NiJ9." + base64.urlsafe_b64encode(json.dumps({"exp": 1, "skypeid": real}).encode()
                                                              ).decode().rstrip("=") + ".c2lnbmF0dXJl"
    body = json.dumps({"identity": {"id": real}, "accessToken": {"token": jwt, "expiresOn": "x"}, "o": other})
    out = json.loads(scrubber.body(body.encode()))
    assert out["identity"]["id"] == placeholder_user(1)
    assert out["o"] == placeholder_user(2)
    assert out["accessToken"]["token"] == PLACEHOLDER_TOKEN
    assert scrubber.text(f"https://127.0.0.1:4443/identities/{encoded}/:issueAccessToken") == (
        f"https://{PLACEHOLDER_HOST}/identities/{placeholder_user(1).replace(':', '%3A')}/:issueAccessToken")
    assert scrubber.text(placeholder_user(7)) == placeholder_user(7)
    assert scrubber.text(f"x {jwt} y") == f"x {PLACEHOLDER_TOKEN} y"
    assert scrubber.text("endpoint=https://h/;accesskey=" + "A" * 40) == "endpoint=https://h/;accesskey=c2NydWJiZWQ="
