"""``wsrelay.scale``: the big-room model of notebook 08, checked against hand-worked numbers.

Each expected value is worked out here from AWS's published numbers written out (not read
from ``wsrelay.aws_facts``), so a wrong fact or a wrong formula fails.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from wsrelay import scale


def test_pages_round_up_and_a_room_is_at_least_one_page() -> None:
    assert scale.pages(100_000, 1000) == 100
    assert scale.pages(100_001, 1000) == 101  # the last, partial page is a page too
    assert scale.pages(999, 1000) == 1
    assert scale.pages(0, 1000) == 1
    with pytest.raises(ValueError, match="page_size"):
        scale.pages(10, 0)


def test_the_longest_invocation_posts_one_page_or_the_whole_small_room() -> None:
    plan = scale.fanout_plan(100_000, 1000, 0.002)
    assert (plan.invocations, plan.seconds_per_invocation) == (100, pytest.approx(2.0))
    assert plan.fits_integration_timeout and plan.fits_lambda_timeout
    small = scale.fanout_plan(300, 1000, 0.002)
    assert (small.invocations, small.seconds_per_invocation) == (1, pytest.approx(0.6))
    one = scale.fanout_plan(100_000, 100_000, 0.002)  # no split: 200 s
    assert not one.fits_integration_timeout and one.fits_lambda_timeout
    assert not scale.fanout_plan(1_000_000, 1_000_000, 0.002).fits_lambda_timeout  # 2,000 s


def test_aws_seconds_per_post_is_the_larger_of_cpu_share_and_overlapped_round_trips() -> None:
    # 256 MB is 256/1769 of a vCPU: 0.2 ms of CPU takes 1.38 ms; 10 ms / 16 = 0.625 ms.
    assert scale.aws_seconds_per_post(0.0002, 256, 0.010, 16) == pytest.approx(0.0002 * 1769 / 256)
    # At 1,769 MB and more: a whole vCPU, and the round trips dominate.
    assert scale.aws_seconds_per_post(0.0002, 3008, 0.010, 16) == pytest.approx(0.010 / 16)


def test_account_throttle_reconnects_and_concurrency() -> None:
    assert scale.account_throttle_seconds(100_000) == pytest.approx(10.0)  # 10,000 rps
    assert scale.reconnect_seconds(100_000) == pytest.approx(200.0)  # 500 new per second
    assert scale.reconnect_seconds(100_000, 2000) == pytest.approx(50.0)
    # 100 invocations of 2 s each per message, one message a second: 200 busy environments.
    assert scale.steady_concurrency(100_000, 1000, 0.002, 1.0) == pytest.approx(200.0)
    # At 2 ms a post an invocation posts 500 a second: 20 of them fill the 10,000.
    assert scale.throttle_safe_concurrency(0.002) == 20
    assert scale.throttle_safe_concurrency(0.00001) == 1


def test_reading_a_room_and_the_shards_it_needs() -> None:
    # 100,000 rows of 200 B = 20,000,000 B = 4,883 units of 4 KB, halved (eventually consistent).
    assert scale.query_read_units(100_000) == math.ceil(20_000_000 / 4096) / 2
    # A message a second to 100,000: 2,441.5 read units a second, under 3,000: one shard...
    assert scale.room_shards(100, 1.0, 100_000) == 1
    # ...two messages a second: 4,883 > 3,000: two shards; 2,500 writes a second: three.
    assert scale.room_shards(100, 2.0, 100_000) == 2
    assert scale.room_shards(2_500, 0.0, 10) == 3
    assert scale.room_shards(0, 0.0, 0) == 1


def test_a_message_to_100000_costs_about_ten_cents() -> None:
    """API Gateway: 100,001 messages at $1 per million is $0.10; Lambda and DynamoDB add
    well under a cent at 256 MB and ~1.4 ms a post."""
    cost = scale.message_cost(100_000, 200, 0.0014)
    assert cost.api_gateway == pytest.approx(100_001 / 1e6)
    gb_s = 100_000 * 0.0014 * 256 / 1024
    lam = gb_s * 0.0000166667 + 101 * 0.20 / 1e6
    assert cost.lambda_ == pytest.approx(lam)
    assert cost.dynamodb == pytest.approx(math.ceil(20_000_000 / 4096) / 2 * 0.125 / 1e6)
    assert 0.10 < cost.total < 0.11
    # A 40 KB message is two 32 KB units to every member.
    assert scale.message_cost(1000, 40_000, 0.0014).api_gateway == pytest.approx(2 * 1001 / 1e6)


def test_managed_services_bill_deliveries_in_5_kb_units() -> None:
    assert scale.appsync_events_cost(100_000, 200) == pytest.approx(100_001 / 1e6)
    assert scale.iot_core_cost(100_000, 6_000) == pytest.approx(2 * 100_001 / 1e6)
    assert scale.metered_units(0, 5120) == 1


def test_the_lambda_code_does_not_import_the_model() -> None:
    """``wsrelay.handlers`` ships to Lambda; the model is the notebook's, not the function's."""
    handlers = Path(scale.__file__).with_name("handlers.py")
    tree = ast.parse(handlers.read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any("scale" in name for name in imported)


def test_the_committed_measurements_are_what_notebook_08_plots() -> None:
    """``notebooks/data/bigroom.json`` (``benchmarks/bigroom_sizes.py``) says how and where it
    was measured, and holds both variants for the same room sizes, each row consistent."""
    import json

    path = Path(__file__).parents[1] / "notebooks" / "data" / "bigroom.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["command"].startswith("python benchmarks/bigroom_sizes.py")
    assert {"cores", "cpu", "python", "open_files_soft", "open_files_hard"} <= set(data["machine"])
    assert data["date"]
    variants = {v["variant"]: v for v in data["results"]}
    assert set(variants) == {"one invocation", f"split in pages of {data['page_size']}"}
    sizes = [[r["members"] for r in v["rows"]] for v in data["results"]]
    assert sizes[0] == sizes[1] == sorted(sizes[0]) and sizes[0][0] == 1000
    for variant in data["results"]:
        for row in variant["rows"]:
            assert len(row["fanout_s"]) == data["messages_per_size"]
            assert min(row["fanout_s"]) <= row["fanout_p50_s"] <= max(row["fanout_s"])
            assert row["posts_per_s"] == pytest.approx(row["members"] / row["fanout_p50_s"], 0.01)
