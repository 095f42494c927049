"""``wsrelay.authorizer``: signed tokens and the ``$connect`` authorizer's answers.

The token checks are plain functions (a fixed clock, no I/O): a good token, an expired one,
one changed after signing, one signed with another secret, and malformed ones. The
authorizer's answers are then read the way the local gateway reads them (``decide``, which
evaluates the policy as IAM does), so an Allow must really cover this ``$connect``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from wsrelay import authorizer
from wsrelay.authorizer import InvalidToken, lambda_handler, sign_token, verify_token
from wsrelay.local.apigateway.authorizer import decide, method_arn
from wsrelay.local.lambda_runtime.environments import Invocation

SECRET = "correct horse battery staple"
NOW = 1_800_000_000
ARN = method_arn("us-east-1", "123456789012", "abc123", "dev")


def test_a_good_token_gives_its_claims() -> None:
    token = sign_token("ada", SECRET, expires_at=NOW + 60, rooms=["lobby", "ops"])
    claims = verify_token(token, SECRET, now=NOW)
    assert (claims.name, claims.expires_at, claims.rooms) == ("ada", NOW + 60, ("lobby", "ops"))
    assert claims.allows("ops") and not claims.allows("secret")
    assert verify_token(sign_token("bob", SECRET, expires_at=NOW + 1), SECRET, now=NOW).allows("x")


def test_an_expired_token_is_refused() -> None:
    token = sign_token("ada", SECRET, expires_at=NOW)
    with pytest.raises(InvalidToken, match=f"expired at {NOW}"):
        verify_token(token, SECRET, now=NOW)  # expiry is exclusive: at exp it is over
    assert verify_token(token, SECRET, now=NOW - 1).name == "ada"


def test_a_token_changed_after_signing_is_refused() -> None:
    """A payload rewritten to another name (or a later expiry) no longer matches its signature."""
    token = sign_token("ada", SECRET, expires_at=NOW + 60)
    payload, signature = token.split(".")
    forged = {"sub": "admin", "exp": NOW + 60}
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken, match="bad signature"):
        verify_token(f"{forged_payload}.{signature}", SECRET, now=NOW)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    with pytest.raises(InvalidToken, match="bad signature"):
        verify_token(f"{payload}.{flipped}", SECRET, now=NOW)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = sign_token("ada", "another secret", expires_at=NOW + 60)
    with pytest.raises(InvalidToken, match="bad signature"):
        verify_token(token, SECRET, now=NOW)


@pytest.mark.parametrize("token", ["", "no-dot", ".sig", "payload.", "a.b.c"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        verify_token(token, SECRET, now=NOW)


def test_a_signed_payload_that_is_not_claims_is_refused() -> None:
    """Even a correctly signed payload must hold sub (a string) and exp (an integer)."""
    payload = base64.urlsafe_b64encode(b'{"sub": 7}').rstrip(b"=").decode()
    token = f"{payload}.{authorizer._signature(payload, SECRET)}"
    with pytest.raises(InvalidToken, match="lacks sub"):
        verify_token(token, SECRET, now=NOW)


def test_no_secret_signs_or_verifies_nothing() -> None:
    with pytest.raises(ValueError, match="empty"):
        sign_token("ada", "", expires_at=NOW + 60)
    token = sign_token("ada", SECRET, expires_at=NOW + 60)
    with pytest.raises(InvalidToken, match="no secret"):
        verify_token(token, "", now=NOW)


# --- the authorizer's answers, as the gateway reads them --------------------------------------


def _event(**query: str) -> dict[str, Any]:
    return {"type": "REQUEST", "methodArn": ARN, "queryStringParameters": query}


def _answer(monkeypatch: pytest.MonkeyPatch, **query: str) -> Invocation:
    """The authorizer's invocation as Lambda reports it: its value, or its error's message."""
    monkeypatch.setenv(authorizer.SECRET_VARIABLE, SECRET)
    try:
        return Invocation(ok=True, value=lambda_handler(_event(**query), None))
    except Exception as exc:
        return Invocation(ok=False, error={"errorMessage": str(exc)})


def test_a_good_token_is_allowed_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    token = sign_token("ada", SECRET, expires_at=time.time() + 60)
    decision = decide(_answer(monkeypatch, token=token), ARN)
    assert decision.allowed and decision.context == {"name": "ada", "principalId": "ada"}
    # The Allow names this stage's $connect and nothing else.
    other_stage = method_arn("us-east-1", "123456789012", "abc123", "prod")
    assert decide(_answer(monkeypatch, token=token), other_stage).status == 403


def test_bad_tokens_are_401_and_a_room_not_granted_is_403(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    expired = sign_token("ada", SECRET, expires_at=time.time() - 1)
    assert decide(_answer(monkeypatch, token=expired), ARN).status == 401
    assert decide(_answer(monkeypatch), ARN).status == 401
    lobby_only = sign_token("ada", SECRET, expires_at=time.time() + 60, rooms=["lobby"])
    assert decide(_answer(monkeypatch, token=lobby_only, room="ops"), ARN).status == 403
    assert decide(_answer(monkeypatch, token=lobby_only), ARN).allowed  # lobby by default


def test_wsrelay_token_signs_what_the_authorizer_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``wsrelay token ada --room lobby`` prints a token the secret verifies; no secret, 2."""
    import time

    from wsrelay.cli import main

    monkeypatch.delenv(authorizer.SECRET_VARIABLE, raising=False)
    assert main(["token", "ada"]) == 2
    assert "set TOKEN_SECRET" in capsys.readouterr().err
    monkeypatch.setenv(authorizer.SECRET_VARIABLE, SECRET)
    assert main(["token", "ada", "--hours", "1", "--room", "lobby", "--room", "ops"]) == 0
    claims = verify_token(capsys.readouterr().out.strip(), SECRET)
    assert (claims.name, claims.rooms) == ("ada", ("lobby", "ops"))
    assert time.time() + 3500 < claims.expires_at <= time.time() + 3600
