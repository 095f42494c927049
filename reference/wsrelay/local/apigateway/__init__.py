"""API Gateway's WebSocket data plane, as the local gateway runs it.

==================  =========================================================================
``listener``        the one port: WebSocket upgrades to the connection core, the rest to aiohttp
``handshake``       the upgrade: ``$connect`` and its authorizer answer before the 101
``core``            one connection's rules, sans I/O: limits, close codes, timers, routes, posts
``outbox``          what a connection owes its client, in order, in 32 KB frames: its backlog
``wire``            the asyncio side of a connection: bytes in and out, invocations, ``$disconnect``
``routing``         route selection expressions, API Gateway's own frames, close codes
``authorizer``      the ``$connect`` REQUEST authorizer: identity sources, its answer
``policy``          an authorizer's IAM policy, evaluated as IAM does
``proxy``           the Lambda proxy integration: ``$connect``'s headers, reading a result
``connections``     the open connections and the ``@connections`` API
``sigv4``           SigV4 signatures on ``@connections`` when the gateway is shared
``server``          ``GatewayServer``: all of it on one port, and the functions behind it
==================  =========================================================================
"""
