"""A pytest plugin: test your own WebSocket app against a local API Gateway.

Installed with wsrelay (entry point ``pytest11``), so any test can ask for the fixture::

    def test_chat(wsrelay_gateway):
        gw = wsrelay_gateway(template="template.yaml", parameters={"Stage": "test"})
        ws = websocket.create_connection(gw.url)
        ...
        table = gw.dynamodb_client()           # the app's tables, by gw.resources[logical id]

``wsrelay_gateway(template=None, parameters=None, **options)`` starts a
:class:`~wsrelay.local.LocalGateway` — the app of ``template`` (a path relative to pytest's
root directory, or absolute), or the workbook's chat API without one — and stops it when
the test ends. ``options`` are :class:`~wsrelay.local.LocalGateway`'s (``port`` defaults to
0: a free port). The gateway has ``url``, ``management_url``, ``dynamodb_endpoint``,
``endpoint_url`` (moto, every other service) and ``resources`` (logical id → physical name).

Nothing heavy is imported until a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from wsrelay.local.gateway import LocalGateway

__all__ = ["wsrelay_gateway"]

GatewayFactory = Callable[..., "LocalGateway"]


@pytest.fixture
def wsrelay_gateway(request: pytest.FixtureRequest) -> Iterator[GatewayFactory]:
    """A factory of started local gateways, each stopped when the test ends."""
    from wsrelay.local.gateway import LocalGateway

    started: list[LocalGateway] = []

    def start(
        template: str | Path | None = None,
        parameters: Mapping[str, str] | None = None,
        **options: Any,
    ) -> LocalGateway:
        options.setdefault("port", 0)
        if template is None:
            if parameters:
                raise TypeError("parameters are a template's: pass template= as well")
            gateway = LocalGateway(**options)
        else:
            path = Path(template)
            if not path.is_absolute():
                path = Path(request.config.rootpath) / path
            gateway = LocalGateway.from_template(path, parameters, **options)
        gateway.start()
        started.append(gateway)
        return gateway

    try:
        yield start
    finally:
        for gateway in reversed(started):
            gateway.stop()
