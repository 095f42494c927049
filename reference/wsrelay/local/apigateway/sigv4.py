"""SigV4 signatures on the ``@connections`` API, checked as AWS checks them.

AWS accepts a management call only when it is signed (Signature Version 4, service
``execute-api``) with credentials allowed to call it. A gateway shared on a network
(``wsrelay serve --host 0.0.0.0``) does the same with its own credentials, so that anyone
who can reach the port cannot post to, read or close everyone's connections; on loopback
it accepts any request, as before.

The signature is recomputed with botocore's own signer (``botocore.auth.SigV4Auth``: the
canonical request, the string to sign, the signature — the steps of
https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html) over the
request as it arrived: its method, raw path and query, the headers it says it signed, and
its body. Answers, as AWS gives them: 403 ``MissingAuthenticationTokenException`` without an
``Authorization`` header, 403 ``IncompleteSignatureException`` for one that is malformed,
403 ``UnrecognizedClientException`` for another access key, 403
``InvalidSignatureException`` for a signature that does not match, another region or
service, or a time more than 15 minutes away.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime

__all__ = ["SignatureVerifier"]

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
#: How far a request's X-Amz-Date may be from now, as AWS allows.
MAX_SKEW_SECONDS = 15 * 60

Refusal = tuple[int, str, str]


class SignatureVerifier:
    """Checks that requests are signed with ``access_key``/``secret_key`` for ``region``.

    Args:
        access_key, secret_key, session_token: the gateway's credentials.
        region: the region requests must be signed for.
        service: the signing name (``execute-api`` for the management API).
    """

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        region: str,
        *,
        session_token: str | None = None,
        service: str = "execute-api",
    ) -> None:
        from botocore.auth import SigV4Auth
        from botocore.credentials import Credentials

        self.access_key = access_key
        self.region = region
        self.service = service
        self._token = session_token
        self._auth = SigV4Auth(Credentials(access_key, secret_key, session_token), service, region)

    def check(
        self, method: str, raw_path: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> Refusal | None:
        """``None`` when the request is signed with the gateway's credentials, else the refusal."""
        lowered = {name.lower(): value for name, value in headers}
        authorization = lowered.get("authorization")
        if not authorization:
            return 403, "MissingAuthenticationTokenException", "Missing Authentication Token"
        match = _AUTHORIZATION.match(authorization)
        amz_date = lowered.get("x-amz-date", "")
        if match is None or not amz_date:
            return (
                403,
                "IncompleteSignatureException",
                "Authorization header requires 'Credential', 'Signature', 'SignedHeaders' "
                "and an 'X-Amz-Date' header",
            )
        key, _, scope = match.group("credential").partition("/")
        if key != self.access_key or lowered.get("x-amz-security-token") != self._token:
            return (
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        date, _, rest = scope.partition("/")
        if rest != f"{self.region}/{self.service}/aws4_request" or not amz_date.startswith(date):
            return (
                403,
                "InvalidSignatureException",
                "Credential should be scoped to a valid region.",
            )
        try:
            moment = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return 403, "IncompleteSignatureException", f"Invalid X-Amz-Date: {amz_date}"
        if abs(moment.timestamp() - time.time()) > MAX_SKEW_SECONDS:
            return 403, "InvalidSignatureException", f"Signature expired: {amz_date}"
        expected = self._signature(method, raw_path, lowered, match.group("signed"), body, amz_date)
        if not hmac.compare_digest(expected, match.group("signature")):
            return (
                403,
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you "
                "provided. Check your AWS Secret Access Key and signing method.",
            )
        return None

    def _signature(
        self,
        method: str,
        raw_path: str,
        headers: dict[str, str],
        signed: str,
        body: bytes,
        amz_date: str,
    ) -> str:
        """The signature botocore computes for this request, over the headers it names."""
        from botocore.awsrequest import AWSRequest

        names = signed.split(";")
        host = headers.get("host", "")
        request = AWSRequest(
            method=method,
            url=f"http://{host}{raw_path}",
            headers={name: headers.get(name, "") for name in names},
            data=body,
        )
        request.context["timestamp"] = amz_date
        canonical = self._auth.canonical_request(request)
        signature: str = self._auth.signature(
            self._auth.string_to_sign(request, canonical), request
        )
        return signature
