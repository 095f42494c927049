"""SigV4 on ``@connections``: requests botocore signs verify; anything else is refused as AWS does.

The signer is botocore's (``SigV4Auth.add_auth``, exactly what a boto3 client does); the
refusals' error types are the ones API Gateway answers an unsigned or mis-signed call with.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from wsrelay.local.apigateway.sigv4 import SignatureVerifier

KEY, SECRET = "LOCALTESTKEY", "local-secret"
URL = "http://192.168.1.20:8765/dev/@connections/L0SM9cOFvHcCIhw%3D"
PATH = "/dev/@connections/L0SM9cOFvHcCIhw%3D"


def signed(
    key: str = KEY,
    secret: str = SECRET,
    region: str = "us-east-1",
    body: bytes = b"hello",
    token: str | None = None,
    method: str = "POST",
) -> dict[str, str]:
    """The headers botocore sends for a PostToConnection to ``URL``."""
    request = AWSRequest(method=method, url=URL, data=body)
    SigV4Auth(Credentials(key, secret, token), "execute-api", region).add_auth(request)
    headers = dict(request.headers.items())
    headers["Host"] = "192.168.1.20:8765"
    headers["User-Agent"] = "Boto3/1.44 (not signed, as botocore never signs it)"
    return headers


def check(
    headers: dict[str, str], *, body: bytes = b"hello", path: str = PATH, **verifier: Any
) -> Any:
    return SignatureVerifier(KEY, SECRET, "us-east-1", **verifier).check(
        "POST", path, list(headers.items()), body
    )


def test_a_request_botocore_signed_verifies() -> None:
    """A request signed by botocore with the gateway's credentials passes."""
    assert check(signed()) is None


def test_a_session_token_must_be_the_gateways() -> None:
    """With a session token, the request must carry the same ``X-Amz-Security-Token``."""
    assert check(signed(token="tok"), session_token="tok") is None
    assert check(signed(), session_token="tok")[1] == "UnrecognizedClientException"


@pytest.mark.parametrize(
    ("headers", "body", "path", "error"),
    [
        ({}, b"hello", PATH, "MissingAuthenticationTokenException"),
        (
            {"Authorization": "AWS4-HMAC-SHA256 garbage"},
            b"hello",
            PATH,
            "IncompleteSignatureException",
        ),
        (signed(key="SOMEONEELSE"), b"hello", PATH, "UnrecognizedClientException"),
        (signed(secret="wrong"), b"hello", PATH, "InvalidSignatureException"),
        (signed(region="eu-west-1"), b"hello", PATH, "InvalidSignatureException"),
        (signed(), b"tampered", PATH, "InvalidSignatureException"),
        (signed(), b"hello", "/dev/@connections/someone-else%3D", "InvalidSignatureException"),
    ],
    ids=["unsigned", "malformed", "other-key", "wrong-secret", "other-region", "body", "path"],
)
def test_refusals(headers: dict[str, str], body: bytes, path: str, error: str) -> None:
    """Unsigned, malformed, another key, a wrong secret or region, a changed body or path: 403."""
    status, code, _ = check(headers, body=body, path=path)
    assert (status, code) == (403, error)


def test_a_signature_older_than_15_minutes_has_expired() -> None:
    """A request dated more than 15 minutes away is refused ("Signature expired")."""
    headers = signed()
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=16)
    stamp = old.strftime("%Y%m%dT%H%M%SZ")
    headers["X-Amz-Date"] = stamp
    headers["Authorization"] = headers["Authorization"].replace(
        headers["Authorization"].split("Credential=")[1].split("/")[1], stamp[:8]
    )
    status, code, message = check(headers)
    assert (status, code) == (403, "InvalidSignatureException")
    assert "expired" in message
