"""The local API Gateway: WebSocket server, ``@connections`` API, warm local Lambda runtime.

moto stores a WebSocket API's definition but has no data plane; this package is one. See
``docs/local-gateway.md`` for what it reproduces of AWS and how.
"""

from __future__ import annotations

from wsrelay.local.api import ApiDefinition, Authorizer, Function, Route
from wsrelay.local.gateway import DEFAULT_TABLE, LocalGateway

__all__ = ["DEFAULT_TABLE", "ApiDefinition", "Authorizer", "Function", "LocalGateway", "Route"]
