"""A faster response path for the embedded moto server's DynamoDB Query and Scan.

moto 5.2 serializes every response by walking botocore's output shape value by value, which
costs about 0.2-0.4 ms per item returned: for a broadcast to a room of 1,000 that is most of
the fan-out's time (``docs/local-gateway.md`` has the measurements). A Query or Scan result
is already in DynamoDB's wire form (``{"Items": [{"attr": {"S": "..."}}], "Count": …}``),
so this writes it with ``json.dumps`` instead. Anything else, and any result holding a value
JSON cannot write directly (binary attributes, say), still goes through moto's serializer.

``tests/test_motofast.py`` checks that both paths give the same parsed response.
"""

from __future__ import annotations

import json
import secrets
from email.utils import formatdate
from typing import Any

__all__ = ["install", "moto_serializer"]

_FAST_OPERATIONS = {"Query", "Scan"}
_FAST_KEYS = {"Items", "Count", "ScannedCount", "LastEvaluatedKey", "ConsumedCapacity"}
_serialize_with_moto: Any = None


def moto_serializer() -> Any:
    """moto's own ``DynamoResult.execute_result``, as it was before :func:`install`."""
    from moto.dynamodb import responses

    return _serialize_with_moto or responses.DynamoResult.execute_result


def install() -> None:
    """Route moto's DynamoDB Query and Scan responses through ``json.dumps`` (idempotent)."""
    global _serialize_with_moto
    if _serialize_with_moto is not None:
        return
    from moto.dynamodb import responses

    serialize_with_moto = _serialize_with_moto = responses.DynamoResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        result = self.result
        if (
            context.operation_model.name in _FAST_OPERATIONS
            and isinstance(result, dict)
            and set(result) <= _FAST_KEYS
        ):
            try:
                body = json.dumps(result, separators=(",", ":"))
            except (TypeError, ValueError):
                return serialize_with_moto(self, context)
            headers = {
                "Content-Type": "application/x-amz-json-1.0",
                "server": "amazon.com",
                "date": formatdate(usegmt=True),
                "x-amzn-requestid": secrets.token_urlsafe(39)[:52],
            }
            return 200, headers, body
        return serialize_with_moto(self, context)

    responses.DynamoResult.execute_result = execute_result  # type: ignore[method-assign]
