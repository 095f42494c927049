"""``wsrelay.local.wire``: batches framed on one side come out whole, in order, on the other."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from wsrelay.local.lambda_runtime.wire import HEADER, FrameReader, encode

MESSAGES = st.lists(
    st.fixed_dictionaries(
        {"t": st.sampled_from(["post", "result", "manage"]), "data": st.binary(max_size=300)}
    ),
    min_size=1,
    max_size=5,
)


@given(
    batches=st.lists(MESSAGES, min_size=1, max_size=6),
    cuts=st.lists(st.integers(1, 97), max_size=40),
)
def test_any_split_of_the_stream_gives_every_message_in_order(
    batches: list[list[dict[str, Any]]], cuts: list[int]
) -> None:
    """However the socket cuts the bytes, the reader returns each message once, in order."""
    stream = b"".join(encode(batch) for batch in batches)
    reader = FrameReader()
    received: list[dict[str, Any]] = []
    position = 0
    for size in [*cuts, len(stream)]:
        received.extend(reader.feed(stream[position : position + size]))
        position += size
    assert received == [message for batch in batches for message in batch]


def test_a_partial_frame_waits_for_the_rest() -> None:
    """A frame cut inside its header or its body yields nothing until it is whole."""
    frame = encode([{"t": "post", "data": b"x" * 1000}])
    reader = FrameReader()
    assert reader.feed(frame[: HEADER.size - 1]) == []
    assert reader.feed(frame[HEADER.size - 1 : 500]) == []
    assert reader.feed(frame[500:]) == [{"t": "post", "data": b"x" * 1000}]


def test_a_payload_posted_to_many_crosses_once() -> None:
    """Within a batch, one payload referenced by 1,000 posts is written once."""
    payload = b"p" * 10_000
    batch = [{"t": "post", "connection_id": f"c{i}", "data": payload} for i in range(1000)]
    assert len(encode(batch)) < 2 * len(payload) + 1000 * 40
