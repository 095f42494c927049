"""What the notebooks share: a local AWS (a moto server) with fixed, offline settings.

::

    with LocalAws() as aws:
        apigw = aws.client("apigatewayv2")     # talks to http://127.0.0.1:PORT
        aws.endpoint                            # for --endpoint-url and LocalGateway

Everything runs on 127.0.0.1 with placeholder credentials and a fixed region, so a
notebook needs no AWS account and no network, and its outputs are the same on every run.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import boto3

__all__ = ["REGION", "LocalAws"]

REGION = "us-east-1"


class LocalAws:
    """A moto server on 127.0.0.1 serving every AWS API the workbook calls."""

    def __init__(self, region: str = REGION) -> None:
        self.region = region
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: pass it as ``endpoint_url`` (or ``--endpoint-url``)."""
        if self._server is None:
            raise RuntimeError("LocalAws is not running: use it in a with block or call start()")
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on this server, with placeholder credentials."""
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def start(self) -> LocalAws:
        """Start the server (a few milliseconds once moto is imported)."""
        if self._server is None:
            from moto.server import ThreadedMotoServer

            from wsrelay.local import motofast

            motofast.install()
            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._server.start()
        return self

    def stop(self) -> None:
        """Stop the server; its data is gone."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
