"""The exceptions wsrelay raises, all under one base.

::

    WsrelayError
    ├── ProtocolError        a client frame or a connect parameter is not valid
    └── ConfigurationError   the environment is missing something the code needs

Every message says what was wrong and how to fix it: it is shown to learners and, for
``ProtocolError``, sent to the client in an error frame.
"""

from __future__ import annotations

__all__ = ["ConfigurationError", "ProtocolError", "WsrelayError"]


class WsrelayError(Exception):
    """Base class of every error wsrelay raises on purpose."""


class ProtocolError(WsrelayError, ValueError):
    """A client frame or connect parameter broke the wire protocol.

    The message is written for the person who sent it: what was wrong and how to fix it.
    """


class ConfigurationError(WsrelayError, RuntimeError):
    """The environment lacks a setting the code needs (for example ``CONNECTIONS_TABLE``)."""
