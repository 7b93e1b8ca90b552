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
    PLACEHOLDER_TOKEN,
    RECORDINGS,
    ZERO_RESOURCE,
    Scrubber,
    placeholder_user,
)

CASSETTES = sorted(RECORDINGS.glob("*.yaml"))
SCENARIOS = Path(__file__).resolve().parent / "test_cli_scenarios.py"


def test_there_is_one_cassette_per_scenario():
    names = set(re.findall(r"^def (test_\w+)\(target", SCENARIOS.read_text(), re.MULTILINE))
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


def test_placeholder_token_parses_like_an_acs_token_but_is_not_a_jwt():
    from azext_communication._validators import parse_access_token_expiry

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
