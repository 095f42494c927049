"""A broadcast to a room too big for one invocation, split across invocations of a fan-out function.

One invocation posts to a room's members one at a time per thread, each post a call to the
``@connections`` API. However fast that is, a room can outgrow it: API Gateway answers the
sender after 29 s and a function may run 15 minutes at most
(https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). So with
``FANOUT_FUNCTION`` set (the deploy and the SAM template set it), ``sendmessage`` reads the
room through ``byRoom`` a page at a time, posts to the first page itself, and hands each
further page to an *asynchronous* invocation of the fan-out function (Lambda ``Invoke``,
``InvocationType=Event``), which posts to exactly the ids it was given
(:func:`fanout_handler`), with the broadcaster's 410 clean-up.

Why asynchronous invokes and not an SQS queue with a Lambda consumer: nothing to provision
beyond the function; an event holds 1 MB (https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html),
room for a page of 1,000 ids and a 128 KB message; Lambda queues the events and runs as many
fan-out environments at once as the account's concurrency allows, so pages go out in
parallel; and a queue would add batching and redelivery that a fan-out must not have.

No member is posted twice: Query pages are disjoint, each page goes to one invocation, the
fan-out function never raises (a failed post is counted and logged, not retried), and the
deploy sets its event invoke configuration to ``MaximumRetryAttempts: 0``, so Lambda does
not run a page again. The price is at most once: a page whose event Lambda drops (it keeps
events up to 6 hours) is not delivered. That leaves Lambda's own queue: "Even if your function
doesn't return an error, it's possible for it to receive the same event from Lambda multiple
times because the queue itself is eventually consistent"
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), and such
a page would post its members twice. So each page's event carries an id of its own
(``pageId``: the broadcast's and the page's number), and the fan-out function first claims it
in the connections table with a conditional ``PutItem`` (``ConnectionStore.claim_page``): a
second event for the same page finds the claim and posts nothing. A claim costs one write per
page (a thousandth of a write per member) and expires with the events Lambda could still
deliver (6 hours). A claim that DynamoDB fails to write does not stop the page: it is posted,
since a lost page is worse than the rare duplicate.

Standard library and boto3 only: this ships to Lambda with ``wsrelay.handlers``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from wsrelay import aws_facts
from wsrelay.broadcast import Broadcaster, BroadcastResult
from wsrelay.store import ConnectionStore

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "FANOUT_FUNCTION_VARIABLE",
    "PAGE_SIZE_VARIABLE",
    "FanoutResult",
    "SplitFanout",
    "encode_event",
    "fanout_event",
    "handle_fanout_event",
]

logger = logging.getLogger(__name__)

#: The fan-out function's name, in the environment of the function that sends messages.
FANOUT_FUNCTION_VARIABLE = "FANOUT_FUNCTION"
#: Members per page (one Query request, one fan-out invocation), when set.
PAGE_SIZE_VARIABLE = "FANOUT_PAGE_SIZE"
#: 1,000 ids of 16 characters and a 128 KB message are ~150 KB: well inside an event's 1 MB.
DEFAULT_PAGE_SIZE = 1000
#: Events handed to Lambda at once (each ``Invoke`` call waits for Lambda to queue it).
DISPATCH_THREADS = 8


@dataclass
class FanoutResult:
    """What one sender's invocation did: its own page's posts and the pages it handed on."""

    own: BroadcastResult = field(default_factory=BroadcastResult)
    pages_handed_on: int = 0
    members_handed_on: int = 0
    #: Pages whose event Lambda refused (their members got nothing), with the error.
    refused: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.own}; {self.pages_handed_on} page(s) of {self.members_handed_on} "
            f"member(s) handed on, {len(self.refused)} refused"
        )


def fanout_event(
    room: str, payload: str, endpoint: str, connection_ids: list[str], page_id: str | None = None
) -> dict[str, Any]:
    """The event a fan-out invocation gets: one page of a room and what to post to it.

    ``page_id`` names the page, once across all broadcasts: the fan-out function posts a page
    whose id it has seen before no second time (module docstring).
    """
    event: dict[str, Any] = {
        "wsrelay": "fanout",
        "room": room,
        "payload": payload,
        "endpoint": endpoint,
        "connectionIds": connection_ids,
    }
    if page_id is not None:
        event["pageId"] = page_id
    return event


class SplitFanout:
    """Broadcast a room page by page, the first page here and the rest by other invocations.

    Args:
        store: the connections table.
        broadcaster: posts this invocation's own page (and its 410 clean-up).
        invoke: hands an event to the fan-out function asynchronously; raises if Lambda
            refuses it.
        endpoint: the ``@connections`` endpoint the fan-out function posts through
            (``https://{domainName}/{stage}``).
        page_size: members per page.
    """

    def __init__(
        self,
        store: ConnectionStore,
        broadcaster: Broadcaster,
        invoke: Callable[[Mapping[str, Any]], None],
        endpoint: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.store = store
        self.broadcaster = broadcaster
        self.invoke = invoke
        self.endpoint = endpoint
        self.page_size = page_size

    def broadcast(self, room: str, payload: str) -> FanoutResult:
        """Post ``payload`` to every member of ``room``, each exactly once (module docstring)."""
        result = FanoutResult()
        pages = self.store.room_pages(room, page_size=self.page_size)
        first = next(pages, [])
        broadcast_id = uuid.uuid4().hex
        with ThreadPoolExecutor(DISPATCH_THREADS, thread_name_prefix="fanout") as dispatch:
            handed = []
            # Read while the events of earlier pages are being handed on.
            for number, page in enumerate(pages, start=1):
                ids = [member.connection_id for member in page]
                page_id = f"{broadcast_id}:{number}"
                event = fanout_event(room, payload, self.endpoint, ids, page_id)
                handed.append((len(ids), dispatch.submit(self.invoke, event)))
            result.own = self.broadcaster.post_to((m.connection_id for m in first), payload)
            for count, future in handed:
                try:
                    future.result()
                except Exception as exc:  # one refused page must not stop the others
                    logger.warning("a fan-out page of %d member(s) was refused: %s", count, exc)
                    result.refused.append(f"{type(exc).__name__}: {exc}")
                    continue
                result.pages_handed_on += 1
                result.members_handed_on += count
        return result


def handle_fanout_event(event: Mapping[str, Any], broadcaster: Broadcaster) -> dict[str, Any]:
    """Post one page (see :func:`fanout_event`) unless its ``pageId`` was posted before; never
    raises, so Lambda never retries it."""
    try:
        ids = [str(i) for i in event["connectionIds"]]
        payload = str(event["payload"])
        page_id = event.get("pageId")
        if page_id is not None and not _claim(broadcaster, str(page_id)):
            # Expected now and then (module docstring), and handled: a line, not a warning.
            logger.info("page %s was posted already (a duplicate event): skipped", page_id)
            return _nothing_posted(duplicate=True)
        result = broadcaster.post_to(ids, payload)
    except Exception as exc:  # an unreadable event: nothing was posted, nothing to retry
        logger.error("a fan-out event could not be handled: %s", exc, exc_info=True)
        return _nothing_posted(error=str(exc))
    if result.gone:
        logger.info("removed %d stale connection(s) from %s", len(result.gone), event.get("room"))
    return {"delivered": result.delivered, "gone": len(result.gone), "failed": len(result.failed)}


def _nothing_posted(**why: Any) -> dict[str, Any]:
    """The fan-out function's answer for a page it posted to no one, and why."""
    return {"delivered": 0, "gone": 0, "failed": 0, **why}


def _claim(broadcaster: Broadcaster, page_id: str) -> bool:
    """Claim the page; ``True`` also when the claim cannot be written (module docstring)."""
    try:
        return broadcaster.store.claim_page(
            page_id, keep_seconds=aws_facts.LAMBDA_ASYNC_MAX_EVENT_AGE_SECONDS
        )
    except Exception as exc:  # the page still goes out: a duplicate beats a lost page
        logger.warning("could not claim page %s, posting it anyway: %s", page_id, exc)
        return True


def encode_event(event: Mapping[str, Any]) -> bytes:
    """An event as the Lambda ``Invoke`` payload."""
    return json.dumps(event, separators=(",", ":")).encode("utf-8")
