"""``Broadcaster``: send one payload to every connection in a room, concurrently.

The fan-out reads the room through the ``byRoom`` index a page at a time and posts to each
member through the ``@connections`` API (``PostToConnection``) from a bounded thread pool.
boto3 clients are thread-safe, so one management client serves every worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from wsrelay.store import ConnectionStore

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

__all__ = [
    "DEFAULT_MAX_WORKERS",
    "STALE_GRACE_SECONDS",
    "BroadcastResult",
    "Broadcaster",
    "Delivery",
]

logger = logging.getLogger(__name__)

#: A row that answers 410 is deleted only once it is older than this: API Gateway's
#: integration timeout is 29 s, so a ``$connect`` still running is never mistaken for a
#: stale connection.
STALE_GRACE_SECONDS = 30.0
#: Posts in flight at once, by default.
DEFAULT_MAX_WORKERS = 16


class Delivery(Enum):
    """What happened to one post."""

    DELIVERED = "delivered"
    GONE = "gone"
    FAILED = "failed"


@dataclass
class BroadcastResult:
    """The outcome of one broadcast: how many posts were delivered, gone, or failed.

    ``gone`` lists the connection ids that answered 410 (their rows were deleted);
    ``failed`` maps each other failing id to the error's text.
    """

    delivered: int = 0
    gone: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        """How many connections a post was attempted to."""
        return self.delivered + len(self.gone) + len(self.failed)

    def __str__(self) -> str:
        return f"delivered {self.delivered}, gone {len(self.gone)}, failed {len(self.failed)}"


class Broadcaster:
    """Fan a payload out to a room through ``PostToConnection``.

    Contract:

    - Every member of the room at the time of the read gets one post, sender included
      unless excluded. Members are read with a paginated Query of the ``byRoom`` index, and
      posting starts with the first page.
    - Posts run concurrently on at most ``max_workers`` threads. There is no ordering
      guarantee across receivers; each receiver gets a single broadcast's payload once.
    - A post answered with ``GoneException`` (HTTP 410: the connection no longer exists)
      deletes *that* connection's row, and no other, and is counted as gone. A row younger
      than ``stale_grace`` seconds is kept: API Gateway answers 410 while a newcomer's
      ``$connect`` is still running, after it has written its row
      (:meth:`ConnectionStore.remove_stale`).
    - Any other failure (throttling, 413, a network error, anything raised) is logged at
      WARNING, counted as failed, and does not stop the fan-out: the other members still
      get the payload. Only a failure to read the room itself is raised.

    Args:
        management: an ``apigatewaymanagementapi`` client whose endpoint is the API's
            ``https://{domainName}/{stage}`` (or a local gateway's management URL).
        store: the connections table.
        max_workers: the most posts in flight at once.
        page_size: members read per Query request (default: DynamoDB's 1 MB pages).
        stale_grace: how old (seconds) a row that answers 410 must be to be deleted; the
            default, 30 s, outlasts API Gateway's 29 s integration timeout.
    """

    def __init__(
        self,
        management: ApiGatewayManagementApiClient,
        store: ConnectionStore,
        *,
        max_workers: int = DEFAULT_MAX_WORKERS,
        page_size: int | None = None,
        stale_grace: float = STALE_GRACE_SECONDS,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.management = management
        self.store = store
        self.max_workers = max_workers
        self.page_size = page_size
        self.stale_grace = stale_grace

    def send(self, connection_id: str, payload: bytes | str) -> Delivery:
        """Post ``payload`` to one connection, with the same 410 clean-up as a broadcast."""
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        try:
            self.management.post_to_connection(ConnectionId=connection_id, Data=data)
        except self.management.exceptions.GoneException:
            self.store.remove_stale(connection_id, grace_seconds=self.stale_grace)
            return Delivery.GONE
        return Delivery.DELIVERED

    def broadcast(
        self,
        room: str,
        payload: bytes | str,
        *,
        exclude: Iterable[str] = (),
    ) -> BroadcastResult:
        """Post ``payload`` to every member of ``room`` (see the class contract)."""
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        skip = set(exclude)
        result = BroadcastResult()
        lock = threading.Lock()
        # Bound the queue as well as the workers, so a room of 100,000 members does not
        # queue 100,000 posts at once.
        slots = threading.BoundedSemaphore(self.max_workers * 4)

        def post(connection_id: str) -> None:
            try:
                outcome = self.send(connection_id, data)
                error = ""
            except Exception as exc:  # keep going: one member's failure is not the room's
                outcome, error = Delivery.FAILED, f"{type(exc).__name__}: {exc}"
                logger.warning("post to %s failed: %s", connection_id, error)
            finally:
                slots.release()
            with lock:
                if outcome is Delivery.DELIVERED:
                    result.delivered += 1
                elif outcome is Delivery.GONE:
                    result.gone.append(connection_id)
                else:
                    result.failed[connection_id] = error

        # Leaving the block waits for every post. ``post`` catches everything and records
        # its outcome in ``result``, so no future needs to be kept.
        with ThreadPoolExecutor(
            max_workers=self.max_workers, thread_name_prefix="broadcast"
        ) as pool:
            for page in self.store.room_pages(room, page_size=self.page_size):
                for member in page:
                    if member.connection_id in skip:
                        continue
                    slots.acquire()
                    pool.submit(post, member.connection_id)
        if result.gone:
            logger.info("removed %d stale connection(s) from %s", len(result.gone), room)
        return result
