"""Exercises of ``08_scale-to-100000``: the arithmetic that decides whether a big room fits.

- ``q1``: ``plan_fanout(members, page_size, seconds_per_post)``: how many invocations one
  message to a room of ``members`` takes when it is split in pages of ``page_size`` (the
  sender's invocation posts the first page, one fan-out invocation per further page), and how
  many seconds the longest of them posts, as ``(invocations, seconds)``.
- ``q2``: ``shards_needed(writes_per_second, reads_per_second)``: how many shards a room's
  key needs so that no partition of the ``byRoom`` index takes more than its per-partition
  limits (1,000 write units and 3,000 read units a second, ``wsrelay.aws_facts``).

Both are plain functions of numbers; the checkers compare them with ``wsrelay.scale`` on
cases chosen to catch the usual slips (a floor where a ceiling belongs, a page's time for a
room smaller than a page, a sum where a maximum belongs).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from wsrelay import aws_facts, scale
from wsrelay.exercises.core import Exercise, Incorrect, call

__all__ = ["plan_fanout", "q1", "q2", "shards_needed"]


def plan_fanout(members: int, page_size: int, seconds_per_post: float) -> tuple[int, float]:
    """How many invocations one message takes, and how long the longest one posts."""
    import math

    invocations = max(1, math.ceil(members / page_size))  # a partial page is a page too
    # Each invocation posts one page at most; a room smaller than a page is posted whole.
    longest = min(members, page_size) * seconds_per_post
    return invocations, longest


def shards_needed(writes_per_second: float, reads_per_second: float) -> int:
    """Shards a room key needs so no index partition passes 1,000 WCU or 3,000 RCU a second."""
    import math

    from wsrelay.aws_facts import DYNAMODB_PARTITION_READ_UNITS, DYNAMODB_PARTITION_WRITE_UNITS

    by_writes = math.ceil(writes_per_second / DYNAMODB_PARTITION_WRITE_UNITS)
    by_reads = math.ceil(reads_per_second / DYNAMODB_PARTITION_READ_UNITS)
    return max(1, by_writes, by_reads)  # each shard takes a share of both at once


def _check_plan(answer: Callable[..., object]) -> None:
    cases = [  # (members, page_size, seconds_per_post)
        (100_000, 1000, 0.002),
        (100_001, 1000, 0.002),
        (300, 1000, 0.002),
        (5000, 5000, 0.001),
        (1, 1000, 0.01),
        (12_345, 500, 0.0014),
    ]
    for members, page_size, per_post in cases:
        shown = f"plan_fanout({members:_}, {page_size}, {per_post})"
        got = call(answer, members, page_size, per_post, what=shown)
        plan = scale.fanout_plan(members, page_size, per_post)
        _judge_plan(shown, got, members, page_size, per_post, plan)


def _judge_plan(
    shown: str,
    got: object,
    members: int,
    page_size: int,
    per_post: float,
    plan: scale.FanoutPlan,
) -> None:
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise Incorrect(f"{shown} returned {got!r}: return a pair, (invocations, seconds)")
    invocations, seconds = got
    if not isinstance(invocations, int) or isinstance(invocations, bool):
        raise Incorrect(
            f"{shown} returned {invocations!r} invocations: a count of invocations is a whole "
            "number (an int): round the pages up to one"
        )
    if invocations != plan.invocations:
        if invocations == members // page_size and members % page_size:
            raise Incorrect(
                f"{shown} returned {invocations} invocations, but {members:_} members in pages "
                f"of {page_size} are {plan.invocations} pages: the last, partial page needs an "
                "invocation too. Round up (math.ceil), not down (//)"
            )
        if invocations == plan.invocations - 1 and members > page_size:
            raise Incorrect(
                f"{shown} returned {invocations} invocations, the fan-out function's alone: "
                "count the sender's own invocation too, which posts the first page"
            )
        raise Incorrect(
            f"{shown} returned {invocations} invocations; a room of {members:_} in pages of "
            f"{page_size} takes {plan.invocations}: one per page, and always at least one"
        )
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        raise Incorrect(f"{shown} returned {seconds!r} seconds: return a number of seconds")
    expected = plan.seconds_per_invocation
    if math.isclose(seconds, members * per_post) and not math.isclose(seconds, expected):
        raise Incorrect(
            f"{shown} returned {seconds:g} s, the whole room posted by one invocation. Split, "
            "each invocation posts one page while the others post theirs: the longest posts "
            f"{page_size} members, {expected:g} s"
        )
    if math.isclose(seconds, page_size * per_post) and not math.isclose(seconds, expected):
        raise Incorrect(
            f"{shown} returned {seconds:g} s, a full page's time, but the room has only "
            f"{members} member(s): an invocation posts at most the members there are "
            f"({expected:g} s)"
        )
    if not math.isclose(seconds, expected, rel_tol=1e-9):
        raise Incorrect(
            f"{shown} returned {seconds:g} s; the longest invocation posts "
            f"{min(members, page_size)} members at {per_post} s each: {expected:g} s"
        )


def _check_shards(answer: Callable[..., object]) -> None:
    wcu = aws_facts.DYNAMODB_PARTITION_WRITE_UNITS
    rcu = aws_facts.DYNAMODB_PARTITION_READ_UNITS
    cases = [  # (writes, reads): each catches a slip
        (wcu, rcu),  # exactly at both limits: still one partition
        (0, 0),  # a quiet room still has its key
        (wcu + 1, 0),  # just over: a second shard (int() or round() give 1)
        (2.5 * wcu, 0),  # round(2.5) is 2 in Python: still three shards
        (0, 2.2 * rcu),  # reads alone
        (2.5 * wcu, 3.1 * rcu),  # both: the larger need, not the sum
    ]
    for writes, reads in cases:
        shown = f"shards_needed({writes:g}, {reads:g})"
        got = call(answer, writes, reads, what=shown)
        by_writes = math.ceil(writes / wcu)
        by_reads = math.ceil(reads / rcu)
        expected = max(1, by_writes, by_reads)
        if not isinstance(got, int) or isinstance(got, bool):
            raise Incorrect(f"{shown} returned {got!r}: a number of shards is an int")
        if got == expected:
            continue
        if got == by_writes + by_reads:
            raise Incorrect(
                f"{shown} returned {got}, the shards for the writes plus those for the reads. "
                "Each shard takes its share of both at once (the key's writes and reads both "
                f"spread over the shards): the larger need is enough, {expected}"
            )
        if got == 0:
            raise Incorrect(f"{shown} returned 0: a room has at least one key, so one shard")
        if got < expected:
            raise Incorrect(
                f"{shown} returned {got}: with {got} shard(s) a partition takes "
                f"{writes / got:g} writes and {reads / got:g} reads a second, over its "
                f"{wcu:_} WCU / {rcu:_} RCU. Round up (math.ceil), and look at both limits"
            )
        raise Incorrect(
            f"{shown} returned {got}, more than the {expected} needed: each shard's partition "
            f"takes up to {wcu:_} writes and {rcu:_} reads a second"
        )


q1 = Exercise(
    title="plan_fanout(members, page_size, seconds_per_post)",
    checker=_check_plan,
    hints=(
        "One page is one invocation: the sender's posts the first, a fan-out invocation each "
        "of the others, all at the same time. So count pages, and time one page.",
        "`math.ceil(a / b)` rounds up; `a // b` rounds down and loses the last, partial page. "
        "`min(a, b)` is the members one invocation really posts.",
        "Shape: `invocations` = the pages, at least one; `seconds` = the members of the "
        "fullest page times `seconds_per_post`; `return invocations, seconds`.",
    ),
    reference=plan_fanout,
)

q2 = Exercise(
    title="shards_needed(writes_per_second, reads_per_second)",
    checker=_check_shards,
    hints=(
        "Splitting the key `room` into `room#0` … `room#n-1` spreads both the room's writes "
        "and its reads over n partitions. Find the n that keeps each under its limits.",
        "The limits are `wsrelay.aws_facts.DYNAMODB_PARTITION_WRITE_UNITS` (1,000) and "
        "`DYNAMODB_PARTITION_READ_UNITS` (3,000) a second. `math.ceil` rounds up; Python's "
        "`round(2.5)` is 2.",
        "Shape: the shards the writes need, the shards the reads need, each rounded up; "
        "return the larger, and never less than one.",
    ),
    reference=shards_needed,
)
