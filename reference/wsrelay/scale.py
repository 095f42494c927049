"""A model of a big room on AWS: pages, invocations, limits, partitions and cost (notebook 08).

Plain arithmetic on AWS's published quotas and prices (``wsrelay.aws_facts``) and on a
*per-post cost*: the seconds one ``@connections`` post occupies an invocation. Locally that
cost is measured (``benchmarks/bigroom_sizes.py``); on AWS it is an assumption the caller
states (:func:`aws_seconds_per_post`). Nothing here calls AWS, and ``wsrelay.handlers`` does
not import this module.

The fan-out it models is ``wsrelay.fanout``: the sender's invocation reads the room a page
at a time, posts the first page itself and hands every further page to an asynchronous
invocation of the fan-out function, so the longest invocation posts one page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from wsrelay import aws_facts
from wsrelay.fanout import DEFAULT_PAGE_SIZE

__all__ = [
    "CONNECTION_ROW_BYTES",
    "FanoutPlan",
    "MessageCost",
    "account_throttle_seconds",
    "appsync_events_cost",
    "aws_seconds_per_post",
    "fanout_plan",
    "iot_core_cost",
    "message_cost",
    "metered_units",
    "pages",
    "query_read_units",
    "reconnect_seconds",
    "room_shards",
    "steady_concurrency",
    "throttle_safe_concurrency",
]

#: The size DynamoDB counts for one connection row (id, room, name, two numbers, and the
#: attribute names): about 150 bytes; rounded up.
CONNECTION_ROW_BYTES = 200
#: A read request unit reads 4 KB strongly consistent, 8 KB eventually consistent (a GSI's
#: Query is eventually consistent).
_READ_UNIT_BYTES = 4 * 1024


def pages(member_count: int, page_size: int) -> int:
    """How many pages (one Query request, one invocation each) a room of ``member_count`` is.

    A room always has its sender, so even an empty count is one page.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    return max(1, math.ceil(member_count / page_size))


@dataclass(frozen=True)
class FanoutPlan:
    """What one message to a room costs in invocations and time."""

    members: int
    page_size: int
    invocations: int
    #: The longest invocation: it posts one whole page (or the whole room, if smaller).
    seconds_per_invocation: float

    @property
    def fits_integration_timeout(self) -> bool:
        """The sender's invocation returns inside API Gateway's 29 s."""
        return self.seconds_per_invocation <= aws_facts.INTEGRATION_TIMEOUT_SECONDS

    @property
    def fits_lambda_timeout(self) -> bool:
        """Every invocation ends inside Lambda's 15 minutes."""
        return self.seconds_per_invocation <= aws_facts.LAMBDA_MAX_TIMEOUT_SECONDS


def fanout_plan(member_count: int, page_size: int, seconds_per_post: float) -> FanoutPlan:
    """The invocations a message to the room takes, and how long the longest one posts."""
    count = pages(member_count, page_size)
    longest = min(member_count, page_size) * seconds_per_post
    return FanoutPlan(member_count, page_size, count, longest)


def aws_seconds_per_post(
    cpu_seconds_per_post: float,
    memory_mb: int,
    round_trip_seconds: float,
    workers: int,
) -> float:
    """The seconds a post occupies an invocation on AWS, from stated assumptions.

    Each post is a round trip that ``workers`` threads overlap, and some CPU (boto3 builds,
    signs and parses each request) that they do not: Python runs one thread at a time. A
    function's CPU share is its memory over ``LAMBDA_MB_PER_VCPU`` (one vCPU at 1,769 MB), so
    ``cpu_seconds_per_post`` measured on one full core takes longer below that. The post
    costs whichever is larger.
    """
    share = min(1.0, memory_mb / aws_facts.LAMBDA_MB_PER_VCPU)
    return max(cpu_seconds_per_post / share, round_trip_seconds / workers)


def account_throttle_seconds(posts: int) -> float:
    """The least time ``posts`` ``@connections`` calls take under the account's throttle
    (10,000 requests a second across all of the account's APIs in the Region)."""
    return posts / aws_facts.ACCOUNT_REQUESTS_PER_SECOND


def throttle_safe_concurrency(seconds_per_post: float) -> int:
    """The most fan-out invocations that may post at once without passing the account's
    throttle: each posts ``1 / seconds_per_post`` a second, and all share the 10,000.
    (A post over the throttle answers 429, which the fan-out counts and does not retry.)"""
    return max(1, math.floor(aws_facts.ACCOUNT_REQUESTS_PER_SECOND * seconds_per_post))


def steady_concurrency(
    member_count: int, page_size: int, seconds_per_post: float, messages_per_second: float
) -> float:
    """Lambda environments busy on average (Little's law) for a room sent this many messages
    a second: each message keeps ``pages`` invocations busy for about a page's time."""
    plan = fanout_plan(member_count, page_size, seconds_per_post)
    return messages_per_second * plan.invocations * plan.seconds_per_invocation


def reconnect_seconds(connections: int, new_per_second: float | None = None) -> float:
    """The least time for ``connections`` clients to connect again (after a deploy that drops
    them, or their 2-hour limit falling together): the account's new-connection quota."""
    rate = aws_facts.NEW_CONNECTIONS_PER_SECOND if new_per_second is None else new_per_second
    return connections / rate


def query_read_units(member_count: int, row_bytes: int = CONNECTION_ROW_BYTES) -> float:
    """Read units one read of the whole room takes (Query of the GSI, eventually consistent)."""
    total = member_count * row_bytes
    return math.ceil(total / _READ_UNIT_BYTES) / 2


def room_shards(
    writes_per_second: float,
    messages_per_second: float,
    member_count: int,
    row_bytes: int = CONNECTION_ROW_BYTES,
) -> int:
    """Shards a room key needs so that no GSI partition passes its per-partition limits.

    Writes: every ``$connect`` and ``$disconnect`` of the room writes one row (< 1 KB: one
    write unit) to the index's partition for the room key. Reads: every message reads the
    whole room. With the key split in ``n`` shards (``room#0`` … ``room#n-1``), each partition
    takes ``1/n`` of both.
    """
    reads = messages_per_second * query_read_units(member_count, row_bytes)
    by_writes = math.ceil(writes_per_second / aws_facts.DYNAMODB_PARTITION_WRITE_UNITS)
    by_reads = math.ceil(reads / aws_facts.DYNAMODB_PARTITION_READ_UNITS)
    return max(1, by_writes, by_reads)


def metered_units(payload_bytes: int, unit_bytes: int) -> int:
    """How many billed messages one message of ``payload_bytes`` counts as."""
    return max(1, math.ceil(payload_bytes / unit_bytes))


@dataclass(frozen=True)
class MessageCost:
    """The price, in USD, of one message sent to a room, by service."""

    api_gateway: float
    lambda_: float
    dynamodb: float

    @property
    def total(self) -> float:
        """All three."""
        return self.api_gateway + self.lambda_ + self.dynamodb


def message_cost(
    member_count: int,
    payload_bytes: int,
    seconds_per_post: float,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    memory_mb: int = 256,
) -> MessageCost:
    """One chat message to a room of ``member_count`` on API Gateway + Lambda + DynamoDB.

    API Gateway bills the message it received and each post to a member, in 32 KB units;
    Lambda the GB-seconds of every invocation (each posts its page) and one request each;
    DynamoDB the read units of reading the room. Connection minutes are billed whether or
    not anyone speaks, so they are not in a message's price.
    """
    units = metered_units(payload_bytes, aws_facts.MESSAGE_METERING_BYTES)
    api = (1 + member_count) * units * aws_facts.WEBSOCKET_PRICE_PER_MILLION_MESSAGES / 1e6
    plan = fanout_plan(member_count, page_size, seconds_per_post)
    gb_seconds = member_count * seconds_per_post * memory_mb / 1024
    compute = gb_seconds * aws_facts.LAMBDA_PRICE_PER_GB_SECOND
    requests = (1 + plan.invocations) * aws_facts.LAMBDA_PRICE_PER_MILLION_REQUESTS / 1e6
    reads = query_read_units(member_count) * aws_facts.DYNAMODB_PRICE_PER_MILLION_READ_UNITS
    return MessageCost(api, compute + requests, reads / 1e6)


def appsync_events_cost(member_count: int, payload_bytes: int) -> float:
    """One publish to a channel of ``member_count`` subscribers on AppSync Events: the
    publish and each delivery are operations, in 5 KB units. No function, no table."""
    units = metered_units(payload_bytes, aws_facts.MANAGED_METERING_BYTES)
    price = aws_facts.APPSYNC_EVENTS_PRICE_PER_MILLION_OPERATIONS
    return (1 + member_count) * units * price / 1e6


def iot_core_cost(member_count: int, payload_bytes: int) -> float:
    """One MQTT publish to a topic of ``member_count`` subscribers on IoT Core: the inbound
    message and each delivered copy, in 5 KB units."""
    units = metered_units(payload_bytes, aws_facts.MANAGED_METERING_BYTES)
    return (1 + member_count) * units * aws_facts.IOT_CORE_PRICE_PER_MILLION_MESSAGES / 1e6
