"""``wsrelay.broadcast``: fan-out through ``PostToConnection``, 410 clean-up, bounded concurrency.

DynamoDB is the session's moto server. The ``@connections`` API is ``FakeConnectionsAPI``
(``tests/fake_connections.py``) on 127.0.0.1, because moto's management API accepts any id
and never answers 410; botocore's ``Stubber`` checks the exception classes without a server.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from fake_connections import GONE_MESSAGE, FakeConnectionsAPI

from wsrelay.broadcast import Broadcaster, BroadcastResult, Delivery
from wsrelay.store import ConnectionStore

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

PAYLOAD = '{"type":"message","room":"lobby","sender":"alice","message":"héllo 👋","sentAt":1}'


@pytest.fixture
def store(moto_endpoint: str) -> Iterator[ConnectionStore]:
    """A fresh connections table on the session's moto server."""
    client: DynamoDBClient = boto3.client(
        "dynamodb",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        config=Config(max_pool_connections=32),
    )
    store = ConnectionStore(client, f"connections-{uuid.uuid4().hex[:12]}")
    store.create_table()
    yield store
    client.delete_table(TableName=store.table_name)
    client.close()


def management_client(
    api: FakeConnectionsAPI, *, pool: int = 32, attempts: int = 1
) -> ApiGatewayManagementApiClient:
    """A boto3 ``apigatewaymanagementapi`` client for the fake endpoint.

    ``attempts=1`` turns botocore's retries off, so a simulated 500 or 429 is posted once.
    """
    client: ApiGatewayManagementApiClient = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=api.url,
        region_name="us-east-1",
        config=Config(
            max_pool_connections=pool,
            retries={"mode": "standard", "total_max_attempts": attempts},
        ),
    )
    return client


@pytest.fixture
def management(connections_api: FakeConnectionsAPI) -> Iterator[ApiGatewayManagementApiClient]:
    """A management client for the ``connections_api`` fixture, without retries."""
    client = management_client(connections_api)
    yield client
    client.close()


def add_members(store: ConnectionStore, room: str, count: int, prefix: str = "") -> list[str]:
    """Add ``count`` connections to ``room`` with batched writes; return their ids."""
    ids = [f"{prefix or room}-{n:05d}=" for n in range(count)]
    for start in range(0, count, 25):
        store.client.batch_write_item(
            RequestItems={
                store.table_name: [
                    {
                        "PutRequest": {
                            "Item": {
                                "connectionId": {"S": cid},
                                "roomId": {"S": room},
                                "userName": {"S": "user"},
                                "connectedAt": {"N": "1795769289123"},
                                "expiresAt": {"N": "1795776489"},
                            }
                        }
                    }
                    for cid in ids[start : start + 25]
                ]
            }
        )
    return ids


# --- delivery and clean-up -----------------------------------------------------------------


def test_every_member_gets_the_payload_once(
    store: ConnectionStore,
    connections_api: FakeConnectionsAPI,
    management: ApiGatewayManagementApiClient,
) -> None:
    """Each member of the room, and nobody else, gets exactly the payload's UTF-8 bytes, signed."""
    lobby = add_members(store, "lobby", 20)
    others = add_members(store, "kitchen", 5)
    connections_api.live.update(lobby + others)
    result = Broadcaster(management, store, max_workers=4).broadcast("lobby", PAYLOAD)
    assert (result.delivered, result.gone, result.failed) == (20, [], {})
    assert result.attempted == 20
    assert str(result) == "delivered 20, gone 0, failed 0"
    assert connections_api.post_counts() == dict.fromkeys(lobby, 1)
    for cid in lobby:
        assert connections_api.posts_to(cid) == [PAYLOAD.encode("utf-8")]
    post = connections_api.posts[0]
    assert post.stage == "dev"
    assert "/execute-api/aws4_request" in post.authorization  # SigV4 for execute-api


def test_gone_connections_are_deleted_and_no_others(
    store: ConnectionStore,
    connections_api: FakeConnectionsAPI,
    management: ApiGatewayManagementApiClient,
) -> None:
    """Members answered 410 lose their rows; every other row, in any room, stays."""
    lobby = add_members(store, "lobby", 12)
    kitchen = add_members(store, "kitchen", 3)
    stale = {lobby[1], lobby[5], lobby[11]}
    connections_api.live.update(set(lobby) - stale)
    # kitchen's connections are stale too, but nobody posts to them: they must survive.
    result = Broadcaster(management, store, max_workers=4).broadcast("lobby", PAYLOAD)
    assert sorted(result.gone) == sorted(stale)
    assert result.delivered == 9
    assert result.failed == {}
    remaining = {c.connection_id for c in store.all_connections()}
    assert remaining == (set(lobby) - stale) | set(kitchen)


def test_other_failures_are_counted_and_do_not_stop_the_fan_out(
    store: ConnectionStore,
    connections_api: FakeConnectionsAPI,
    management: ApiGatewayManagementApiClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """500s, 429s and 403s are counted in failed, logged, keep their rows; the rest still get it."""
    lobby = add_members(store, "lobby", 30)
    connections_api.live.update(lobby)
    failures = {lobby[0]: 500, lobby[7]: 429, lobby[8]: 429, lobby[29]: 403}
    connections_api.failures.update(failures)
    caplog.set_level(logging.WARNING, logger="wsrelay.broadcast")
    result = Broadcaster(management, store, max_workers=4).broadcast("lobby", PAYLOAD)
    assert set(result.failed) == set(failures)
    assert "LimitExceededException" in result.failed[lobby[7]]
    assert "ForbiddenException" in result.failed[lobby[29]]
    assert "500" in result.failed[lobby[0]] or "InternalServer" in result.failed[lobby[0]]
    assert result.delivered == 26
    assert result.gone == []
    for cid in set(lobby) - set(failures):
        assert connections_api.posts_to(cid) == [PAYLOAD.encode()]
    assert len(store.all_connections()) == 30  # a failure is not a reason to forget anyone
    assert sum("failed" in r.getMessage() for r in caplog.records) == 4


def test_any_exception_from_a_post_is_contained(store: ConnectionStore) -> None:
    """Even a non-AWS error (a bug, a dropped socket) fails only that member's post."""
    add_members(store, "lobby", 5)

    class Flaky:
        """A management client whose third post raises a plain error."""

        def __init__(self) -> None:
            self.posts: list[str] = []
            real = boto3.client("apigatewaymanagementapi", endpoint_url="https://x.invalid/dev")
            self.exceptions = real.exceptions
            real.close()

        def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> dict[str, Any]:
            self.posts.append(ConnectionId)
            if ConnectionId == "lobby-00002=":
                raise ConnectionResetError("peer reset")
            return {}

    flaky = Flaky()
    result = Broadcaster(flaky, store, max_workers=2).broadcast("lobby", PAYLOAD)  # type: ignore[arg-type]
    assert result.failed == {"lobby-00002=": "ConnectionResetError: peer reset"}
    assert result.delivered == 4
    assert sorted(flaky.posts) == [f"lobby-{n:05d}=" for n in range(5)]


def test_exclude_skips_connections(
    store: ConnectionStore,
    connections_api: FakeConnectionsAPI,
    management: ApiGatewayManagementApiClient,
) -> None:
    """Excluded ids get no post; everyone else does."""
    lobby = add_members(store, "lobby", 6)
    connections_api.live.update(lobby)
    result = Broadcaster(management, store).broadcast("lobby", PAYLOAD, exclude=[lobby[2]])
    assert result.delivered == 5
    assert lobby[2] not in connections_api.post_counts()


def test_empty_room_posts_nothing(
    store: ConnectionStore,
    connections_api: FakeConnectionsAPI,
    management: ApiGatewayManagementApiClient,
) -> None:
    """Broadcasting to a room with no members is a no-op, not an error."""
    add_members(store, "lobby", 3)
    result = Broadcaster(management, store).broadcast("empty", PAYLOAD)
    assert result == BroadcastResult()
    assert connections_api.posts == []


def test_send_one(
    store: ConnectionStore,
    connections_api: FakeConnectionsAPI,
    management: ApiGatewayManagementApiClient,
) -> None:
    """send delivers to one live connection, and on 410 removes that row and reports GONE."""
    live, stale = add_members(store, "lobby", 2)
    connections_api.live.add(live)
    broadcaster = Broadcaster(management, store)
    assert broadcaster.send(live, b"\x00raw bytes") is Delivery.DELIVERED
    assert connections_api.posts_to(live) == [b"\x00raw bytes"]
    assert broadcaster.send(stale, "hi") is Delivery.GONE
    assert store.get(stale) is None
    assert store.get(live) is not None


def test_max_workers_must_be_positive(
    store: ConnectionStore, management: ApiGatewayManagementApiClient
) -> None:
    """A broadcaster with no workers is refused at construction."""
    with pytest.raises(ValueError, match="max_workers"):
        Broadcaster(management, store, max_workers=0)


# --- scale and concurrency -----------------------------------------------------------------


@pytest.mark.slow
def test_a_room_of_1000_is_delivered_page_by_page(
    store: ConnectionStore,
    connections_api: FakeConnectionsAPI,
    management: ApiGatewayManagementApiClient,
) -> None:
    """1,000 members read 100 per Query page each get exactly one post."""
    lobby = add_members(store, "lobby", 1000)
    add_members(store, "kitchen", 50)
    connections_api.live.update(lobby)
    queries: list[int] = []

    def count_query(parsed: dict[str, Any], **_: Any) -> None:
        queries.append(parsed["Count"])

    store.client.meta.events.register("after-call.dynamodb.Query", count_query)
    result = Broadcaster(management, store, max_workers=16, page_size=100).broadcast(
        "lobby", PAYLOAD
    )
    store.client.meta.events.unregister("after-call.dynamodb.Query", count_query)
    assert result.delivered == 1000
    assert connections_api.post_counts() == dict.fromkeys(lobby, 1)
    assert len(queries) >= 10  # the store was read in pages, not at once
    assert max(queries) <= 100
    assert sum(queries) == 1000


@pytest.mark.parametrize("workers", [1, 3, 8])
def test_concurrency_is_bounded_by_max_workers(store: ConnectionStore, workers: int) -> None:
    """At most max_workers posts are in flight at once, and that many really are."""
    lobby = add_members(store, "lobby", 6 * workers)
    with FakeConnectionsAPI(stage="dev", delay=0.05) as api:
        api.live.update(lobby)
        client = management_client(api)
        result = Broadcaster(client, store, max_workers=workers, page_size=5).broadcast(
            "lobby", PAYLOAD
        )
        client.close()
    assert result.delivered == len(lobby)
    assert api.max_in_flight == workers


# --- the exception classes, with botocore's Stubber -----------------------------------------


@pytest.fixture
def stubbed() -> Iterator[tuple[ApiGatewayManagementApiClient, Stubber]]:
    """A management client whose answers come from a Stubber (no server, no network)."""
    client: ApiGatewayManagementApiClient = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="https://abc123.execute-api.us-east-1.amazonaws.com/dev",
        region_name="us-east-1",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()
    client.close()


def test_stubbed_gone_is_caught_as_the_modelled_class(
    store: ConnectionStore, stubbed: tuple[ApiGatewayManagementApiClient, Stubber]
) -> None:
    """botocore raises GoneException (a ClientError subclass) and send cleans up on it."""
    client, stubber = stubbed
    [cid] = add_members(store, "lobby", 1)
    stubber.add_client_error(
        "post_to_connection",
        service_error_code="GoneException",
        service_message=GONE_MESSAGE,
        http_status_code=410,
        expected_params={"ConnectionId": cid, "Data": b"hi"},
    )
    stubber.add_client_error(
        "post_to_connection", service_error_code="GoneException", http_status_code=410
    )
    # What send relies on: the modelled class, which an earlier `except ClientError` would
    # swallow (the AWS SDK example's bug), so send must catch it first.
    with pytest.raises(client.exceptions.GoneException) as caught:
        client.post_to_connection(ConnectionId=cid, Data=b"hi")
    assert isinstance(caught.value, ClientError)
    assert caught.value.response["Error"]["Message"] == GONE_MESSAGE
    assert Broadcaster(client, store).send(cid, "x") is Delivery.GONE
    assert store.get(cid) is None


def test_stubbed_other_errors_are_not_taken_for_gone(
    store: ConnectionStore, stubbed: tuple[ApiGatewayManagementApiClient, Stubber]
) -> None:
    """A 403 or 429 propagates from send and never deletes the row."""
    client, stubber = stubbed
    [cid] = add_members(store, "lobby", 1)
    for code, status in [("ForbiddenException", 403), ("LimitExceededException", 429)]:
        stubber.add_client_error(
            "post_to_connection", service_error_code=code, http_status_code=status
        )
    broadcaster = Broadcaster(client, store)
    with pytest.raises(client.exceptions.ForbiddenException):
        broadcaster.send(cid, "x")
    with pytest.raises(client.exceptions.LimitExceededException):
        broadcaster.send(cid, "x")
    assert store.get(cid) is not None


def test_gone_header_makes_the_real_client_raise_gone(
    store: ConnectionStore,
    connections_api: FakeConnectionsAPI,
    management: ApiGatewayManagementApiClient,
) -> None:
    """Over HTTP too: the fake's 410 with x-amzn-ErrorType gives the modelled GoneException."""
    with pytest.raises(management.exceptions.GoneException) as caught:
        management.post_to_connection(ConnectionId="Mg_ugfpqPHcCIVA=", Data=b"x")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
    assert caught.value.response["Error"]["Message"] == GONE_MESSAGE
    # The '=' of an AWS id travels percent-encoded in the path and arrives intact.
    assert connections_api.posts[0].connection_id == "Mg_ugfpqPHcCIVA="
    assert json.loads(json.dumps(connections_api.post_counts())) == {"Mg_ugfpqPHcCIVA=": 1}
