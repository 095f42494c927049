"""Enough open files for the gateway: raise the process's soft ``RLIMIT_NOFILE``.

Every WebSocket connection is an open file in the gateway's process, and in a notebook the
clients' sockets are open files of the same process (notebook 04 holds 200 of each). macOS
starts every process with a soft limit of 256 open files, Linux usually with 1,024, and past
it ``accept`` and ``connect`` fail with ``EMFILE`` ("Too many open files"). A process may
raise its own soft limit up to its hard limit without privileges, so the gateway does that
when it starts::

    ensure_open_files()      # soft limit now >= WANTED_OPEN_FILES, or a warning says why not

What is checked where:

- POSIX (Linux, macOS): ``resource.getrlimit`` / ``setrlimit``. macOS reports an unlimited
  hard limit but refuses a soft limit above ``kern.maxfilesperproc`` (10,240 by default)
  with ``ValueError``, so a refused raise is retried at that ceiling.
- Windows: there is no ``resource`` module and no ``RLIMIT_NOFILE``; sockets are handles,
  not C-runtime file descriptors, so there is nothing to raise and nothing is done.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

__all__ = ["MACOS_MAX_FILES_PER_PROC", "WANTED_OPEN_FILES", "ensure_open_files"]

log = logging.getLogger("wsrelay.local")

#: The soft limit the gateway asks for: the benchmark's 1,000 clients plus their 1,000
#: server-side sockets in one process, the embedded moto's and workers' files, and room to
#: spare. Not the hard limit itself: that may be a million, and nothing here needs it.
WANTED_OPEN_FILES = 8192
#: macOS's default ``kern.maxfilesperproc`` (``OPEN_MAX`` in ``<sys/syslimits.h>``).
MACOS_MAX_FILES_PER_PROC = 10240


def ensure_open_files(wanted: int = WANTED_OPEN_FILES, *, rlimit: Any = None) -> int | None:
    """Raise the soft open-file limit to ``wanted`` (at most the hard limit); never lower it.

    Args:
        wanted: the soft limit to reach.
        rlimit: the ``resource`` module to use (tests pass a stand-in); ``None`` is the real
            one, or nothing on Windows.

    Returns:
        The soft limit in force afterwards, or ``None`` where the platform has no such limit
        (Windows).

    Logs a warning (logger ``wsrelay.local``) when the limit stays below ``wanted``: with
    the limit it got, how many connections that allows, and the ``ulimit`` command that
    lifts it. Never raises: a gateway with fewer files still serves what it can.
    """
    rlimit = resource if rlimit is None else rlimit
    if rlimit is None:
        return None
    soft, hard = rlimit.getrlimit(rlimit.RLIMIT_NOFILE)
    if soft == rlimit.RLIM_INFINITY or soft >= wanted:
        return int(soft)
    target = wanted if hard == rlimit.RLIM_INFINITY else min(wanted, hard)
    # dict.fromkeys: the two attempts, in order, once each when they are the same.
    for attempt in dict.fromkeys((target, min(target, MACOS_MAX_FILES_PER_PROC))):
        if attempt <= soft:
            break
        try:
            rlimit.setrlimit(rlimit.RLIMIT_NOFILE, (attempt, hard))
        except (ValueError, OSError):
            continue
        soft = attempt
        log.debug("raised the soft open-file limit to %d (hard %s)", soft, _show(hard, rlimit))
        break
    if soft < wanted:
        log.warning(
            "the open-file limit is %d (hard limit %s): the gateway can hold about %d "
            "connections, fewer when clients run in the same process; raise it with "
            "`ulimit -n %d` in the shell that starts Python%s",
            soft,
            _show(hard, rlimit),
            max(soft - 64, 0),
            wanted,
            " (macOS: `sudo launchctl limit maxfiles` sets the hard limit)"
            if sys.platform == "darwin"
            else "",
        )
    return int(soft)


def _show(limit: int, rlimit: Any) -> str:
    return "unlimited" if limit == rlimit.RLIM_INFINITY else str(limit)
