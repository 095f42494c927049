"""``Broadcaster``: send one payload to every connection in a room, concurrently.

The fan-out reads the room through the ``byRoom`` index a page at a time and posts to each
member through the ``@connections`` API (``PostToConnection``) from a bounded thread pool.
boto3 clients are thread-safe, so one management client serves every worker.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from wsrelay import aws_facts
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

#: A row that answers 410 is deleted only once it is older than this: a second longer than
#: API Gateway's integration timeout (29 s), so a ``$connect`` still running is never
#: mistaken for a stale connection.
STALE_GRACE_SECONDS = aws_facts.INTEGRATION_TIMEOUT_SECONDS + 1
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
        skip = set(exclude)
        members = (
            member.connection_id
            for page in self.store.room_pages(room, page_size=self.page_size)
            for member in page
            if member.connection_id not in skip
        )
        result = self._fan_out(members, payload)
        if result.gone:
            logger.info("removed %d stale connection(s) from %s", len(result.gone), room)
        return result

    def post_to(self, connection_ids: Iterable[str], payload: bytes | str) -> BroadcastResult:
        """Post ``payload`` to each of ``connection_ids``, as a broadcast posts to a room.

        The same contract as :meth:`broadcast` — concurrent posts, 410 clean-up with the
        stale grace, other failures counted — for a page of a room that another invocation
        read (``wsrelay.fanout``).
        """
        return self._fan_out(iter(connection_ids), payload)

    def _fan_out(self, ids_to_post: Iterator[str], payload: bytes | str) -> BroadcastResult:
        """Post ``payload`` to each id as it comes; raise only if producing the ids fails."""
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        # A fixed set of threads takes ids from one queue: per member that is a put and a
        # get, where a ThreadPoolExecutor would add a Future, a work item and (to bound its
        # queue) a semaphore, about 30 µs a member in all. The queue holds bare ids, which
        # the pages read from DynamoDB held already. Each thread keeps its own tally, so
        # no lock is taken per post.
        ids: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        tallies: list[BroadcastResult] = []
        threads: list[threading.Thread] = []
        try:
            for connection_id in ids_to_post:
                ids.put(connection_id)
                if len(threads) < self.max_workers:  # no more threads than members
                    tally = BroadcastResult()
                    tallies.append(tally)
                    thread = threading.Thread(
                        target=self._post_until_done,
                        args=(ids, data, tally),
                        name=f"broadcast-{len(threads)}",
                        daemon=True,
                    )
                    thread.start()
                    threads.append(thread)
        finally:
            # Each thread stops at its ``None``, after the ids queued before it. If reading
            # the room failed, the members already queued still get their post.
            for _ in threads:
                ids.put(None)
            for thread in threads:
                thread.join()
        result = BroadcastResult()
        for tally in tallies:
            result.delivered += tally.delivered
            result.gone.extend(tally.gone)
            result.failed.update(tally.failed)
        return result

    def _post_until_done(
        self, ids: queue.SimpleQueue[str | None], data: bytes, tally: BroadcastResult
    ) -> None:
        """One broadcast thread: post to each id it takes until it takes ``None``."""
        while (connection_id := ids.get()) is not None:
            try:
                outcome = self.send(connection_id, data)
            except Exception as exc:  # keep going: one member's failure is not the room's
                error = f"{type(exc).__name__}: {exc}"
                logger.warning("post to %s failed: %s", connection_id, error)
                tally.failed[connection_id] = error
                continue
            if outcome is Delivery.DELIVERED:
                tally.delivered += 1
            else:
                tally.gone.append(connection_id)
