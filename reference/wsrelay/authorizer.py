"""The ``$connect`` authorizer: signed tokens, and the Lambda ``REQUEST`` authorizer that checks them.

Ships to Lambda with the handlers (standard library only). A token is two base64url parts
joined by a dot, ``payload.signature``: the payload is JSON, ``{"sub": name, "exp": epoch
seconds}`` and optionally ``"rooms": [...]``, and the signature is HMAC-SHA256 of the payload
part with a secret only the token issuer and the authorizer know. Anyone can read a token;
without the secret nobody can change or forge one.

:func:`lambda_handler` is a ``REQUEST`` authorizer on the ``$connect`` route
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html).
It reads ``?token=`` and answers as API Gateway expects
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html):

- no token, a malformed, tampered or expired token, a token signed with another secret:
  ``raise Exception("Unauthorized")``, which API Gateway answers with **401**;
- a good token for a room it does not grant (``rooms`` is in the token and ``?room=`` is not
  in it): a policy that **denies** ``execute-api:Invoke`` on the route, answered with **403**;
- a good token: a policy that **allows** ``execute-api:Invoke`` on this API stage's
  ``$connect`` (the event's ``methodArn``), and a ``context`` whose ``name`` the handlers read
  from ``requestContext.authorizer`` on every event of the connection.

The secret is the function's ``TOKEN_SECRET`` environment variable. An environment variable
is readable by anyone allowed ``lambda:GetFunctionConfiguration``; a production system would
keep it in AWS Secrets Manager or SSM Parameter Store and read it at init.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wsrelay import aws_facts, events
from wsrelay.protocol import DEFAULT_ROOM

__all__ = [
    "CONTEXT_NAME",
    "SECRET_VARIABLE",
    "UNAUTHORIZED",
    "Claims",
    "InvalidToken",
    "lambda_handler",
    "policy_answer",
    "sign_token",
    "verify_token",
]

logger = logging.getLogger(__name__)

#: The environment variable that holds the signing secret.
SECRET_VARIABLE = "TOKEN_SECRET"
#: The key of the user's name in the authorizer's ``context`` (``requestContext.authorizer``).
CONTEXT_NAME = "name"
#: What an authorizer raises to refuse with 401 (API Gateway's documented spelling).
UNAUTHORIZED = aws_facts.AUTHORIZER_UNAUTHORIZED
#: The IAM action an authorizer's policy allows or denies.
INVOKE = aws_facts.INVOKE_ACTION


class InvalidToken(ValueError):
    """The token cannot be trusted; the message says why (for logs, never for the client)."""


@dataclass(frozen=True)
class Claims:
    """What a verified token says: who, until when, and which rooms (``None``: any)."""

    name: str
    expires_at: int
    rooms: tuple[str, ...] | None = None

    def allows(self, room: str) -> bool:
        """Whether the token lets its holder into ``room``."""
        return self.rooms is None or room in self.rooms


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).digest()
    return _b64(digest)


def sign_token(
    name: str, secret: str, *, expires_at: float, rooms: Sequence[str] | None = None
) -> str:
    """A token for ``name``, valid until ``expires_at`` (epoch seconds), signed with ``secret``."""
    if not secret:
        raise ValueError("the secret is empty: tokens signed with it would prove nothing")
    claims: dict[str, Any] = {"sub": name, "exp": int(expires_at)}
    if rooms is not None:
        claims["rooms"] = list(rooms)
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{payload}.{_signature(payload, secret)}"


def verify_token(token: str, secret: str, *, now: float | None = None) -> Claims:
    """The token's claims, if it was signed with ``secret`` and has not expired.

    The signature is compared in constant time (``hmac.compare_digest``), and checked before
    the payload is even parsed: nothing of an unsigned payload is trusted.

    Raises:
        InvalidToken: malformed, signed with another secret (or changed), or expired.
    """
    if not secret:
        raise InvalidToken("no secret is configured: every token is refused")
    payload, dot, signature = token.partition(".")
    if not dot or not payload or not signature:
        raise InvalidToken("not a token: expected payload.signature")
    if not hmac.compare_digest(signature, _signature(payload, secret)):
        raise InvalidToken("bad signature: changed, or signed with another secret")
    try:
        claims = json.loads(_unb64(payload))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidToken("the payload is not base64url JSON") from None
    name, expires_at, rooms = claims.get("sub"), claims.get("exp"), claims.get("rooms")
    if not isinstance(name, str) or not isinstance(expires_at, int):
        raise InvalidToken("the payload lacks sub (a string) or exp (an integer)")
    if rooms is not None and not (
        isinstance(rooms, list) and all(isinstance(r, str) for r in rooms)
    ):
        raise InvalidToken("rooms must be a list of strings")
    if (time.time() if now is None else now) >= expires_at:
        raise InvalidToken(f"expired at {expires_at}")
    return Claims(name, expires_at, None if rooms is None else tuple(rooms))


def policy_answer(name: str, effect: str, method_arn: str) -> dict[str, Any]:
    """The authorizer's answer: ``effect`` (Allow or Deny) on this ``$connect``, and the name.

    ``methodArn`` is ``arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/$connect``;
    the policy names exactly that route of that stage. ``context`` values must be strings,
    numbers or booleans: an object or array there makes API Gateway answer 500.
    """
    return {
        "principalId": name,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": INVOKE, "Effect": effect, "Resource": method_arn}],
        },
        "context": {CONTEXT_NAME: name},
    }


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The ``REQUEST`` authorizer's entry point (see the module's docstring).

    Raises:
        Exception: ``"Unauthorized"`` for a missing or invalid token (401).
    """
    query = events.query_parameters(event)  # read as $connect's handler reads it
    try:
        claims = verify_token(query.get("token", ""), os.environ.get(SECRET_VARIABLE, ""))
    except InvalidToken as exc:
        logger.info("refused a token (401): %s", exc)
        raise Exception(UNAUTHORIZED) from None  # the exact message API Gateway expects
    room = query.get("room", DEFAULT_ROOM)
    if not claims.allows(room):
        logger.info("denied %s the room %s (403): not in the token's rooms", claims.name, room)
        return policy_answer(claims.name, "Deny", event["methodArn"])
    logger.info("allowed %s into %s", claims.name, room)
    return policy_answer(claims.name, "Allow", event["methodArn"])
