"""wsrelay: serverless real-time messaging on AWS, as a tested reference and a workbook.

The core (this package's top level) is what ships to Lambda and uses only the standard
library and boto3:

==================  ==========================================================================
``events``          API Gateway WebSocket Lambda-proxy events, built and read as AWS shapes them
``protocol``        the chat wire protocol: parse client frames, build server frames
``store``           ``ConnectionStore``: the DynamoDB connections table and its room index
``broadcast``       ``Broadcaster``: concurrent fan-out through ``post_to_connection``
``handlers``        the Lambda entry point, ``wsrelay.handlers.lambda_handler``
==================  ==========================================================================

Around it, with their own dependencies: ``wsrelay.local`` (the local API Gateway),
``wsrelay.deploy`` (deploy to AWS), ``wsrelay.exercises`` (the workbook's checkers),
``wsrelay.workbook`` (the notebooks' local AWS), ``wsrelay.workbook_app`` (the learner's own
chat app), ``wsrelay.workbook_cli`` (answer copies) and ``wsrelay.cli`` (the ``wsrelay`` command).
"""

from __future__ import annotations

from wsrelay.broadcast import Broadcaster, BroadcastResult, Delivery
from wsrelay.exceptions import ConfigurationError, ProtocolError, WsrelayError
from wsrelay.store import Connection, ConnectionStore, ReadCost

__all__ = [
    "BroadcastResult",
    "Broadcaster",
    "ConfigurationError",
    "Connection",
    "ConnectionStore",
    "Delivery",
    "ProtocolError",
    "ReadCost",
    "WsrelayError",
    "__version__",
]

__version__ = "0.1.0"
