"""The local API Gateway: WebSocket server, ``@connections`` API, warm local Lambda runtime.

moto stores a WebSocket API's definition but has no data plane; this package is one. See
``docs/local-gateway.md`` for what it reproduces of AWS and how.

The names below are imported on first use, so the worker processes (which import
``wsrelay.local.worker``) never load aiohttp or moto.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsrelay.local.api import ApiDefinition, Authorizer, Function, Route
    from wsrelay.local.gateway import DEFAULT_TABLE, LocalGateway

__all__ = ["DEFAULT_TABLE", "ApiDefinition", "Authorizer", "Function", "LocalGateway", "Route"]

_HOMES = {
    "ApiDefinition": "wsrelay.local.api",
    "Authorizer": "wsrelay.local.api",
    "Function": "wsrelay.local.api",
    "Route": "wsrelay.local.api",
    "DEFAULT_TABLE": "wsrelay.local.gateway",
    "LocalGateway": "wsrelay.local.gateway",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'wsrelay.local' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
