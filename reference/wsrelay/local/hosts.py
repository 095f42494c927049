"""Small facts about addresses on this machine (standard library only, cheap to import)."""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["DEFAULT_PORT", "free_port", "is_loopback"]

#: ``wsrelay serve``'s default port.
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """Whether ``host`` reaches this machine only: ``localhost``, 127.0.0.0/8 or ``::1``.

    A host name other than ``localhost`` may resolve to anything, so it is not loopback.
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_port() -> int:
    """A port free on 127.0.0.1 right now (for a server that must be named before it starts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
