"""Lambda handlers that the local gateway's integration tests run in its worker processes.

Some behave (a recorder around the chat handler, an echo, an authorizer), some misbehave on
purpose (raise, hang, return garbage, kill their process). The gateway imports them by module
path, so this module must import in a fresh worker process: standard library, boto3 and
``wsrelay`` only.

Handlers that record write one JSON line per event to the file named by ``RECORD_FILE`` in
the function's environment; ``support.read_records`` reads them back.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from typing import Any

import boto3
from botocore.config import Config

from wsrelay import handlers

Event = dict[str, Any]


def record(entry: dict[str, Any]) -> None:
    """Append ``entry`` as one JSON line to ``RECORD_FILE`` (several processes may append)."""
    line = json.dumps(entry) + "\n"
    with open(os.environ["RECORD_FILE"], "a", encoding="utf-8") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        file.write(line)
        file.flush()
        fcntl.flock(file, fcntl.LOCK_UN)


def _management(event: Event, attempts: int | None = None) -> Any:
    # AWS's own pattern: the endpoint from the event (the gateway routes it to itself).
    context = event["requestContext"]
    endpoint = f"https://{context['domainName']}/{context['stage']}"
    config = Config(retries={"total_max_attempts": attempts}) if attempts else None
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, config=config)


def _via_http(response: dict[str, Any]) -> bool:
    """Whether a botocore response came over HTTP (aiohttp adds a Date header; the fast path does not)."""
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return "date" in {str(name).lower() for name in headers}


# --- well-behaved ---------------------------------------------------------------------------


def recording_handler(event: Event, context: Any) -> Any:
    """Record the event, then run the chat's real handler on it."""
    record({"event": event})
    return handlers.lambda_handler(event, context)


_SLOWED = False


def slow_broadcaster(event: Event, context: Any) -> Any:
    """The chat's handler with every ``PostToConnection`` slowed by ``POST_DELAY`` seconds.

    A frame ``{"action": "pid"}`` answers the environment's pid instead (on a two-way route).
    The delay is a botocore hook on the default session, which the chat's clients use.
    """
    global _SLOWED
    if event["requestContext"]["routeKey"] == "pid":
        return {"statusCode": 200, "body": json.dumps({"pid": os.getpid()})}
    if not _SLOWED:
        delay = float(os.environ.get("POST_DELAY", "0.05"))
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        # Before the parameters are built: earlier than the gateway's own before-call hook,
        # which answers the post (and would end the event there).
        boto3.DEFAULT_SESSION.events.register(
            "before-parameter-build.apigatewaymanagementapi.PostToConnection",
            lambda **_: time.sleep(delay),
        )
        _SLOWED = True
    return handlers.lambda_handler(event, context)


def slow_connect(event: Event, context: Any) -> Any:
    """The chat's ``$connect`` (it stores the row), then a wait before the handshake completes."""
    record({"event": event})
    response = handlers.lambda_handler(event, context)
    record({"row_written": event["requestContext"]["connectionId"]})
    time.sleep(float(os.environ.get("CONNECT_DELAY", "1.5")))
    return response


def slow_record(event: Event, context: Any) -> Any:
    """Wait ``HOLD`` seconds (default 0.5), then record the event."""
    time.sleep(float(os.environ.get("HOLD", "0.5")))
    record({"event": event})
    return {"statusCode": 200}


def record_only(event: Event, context: Any) -> Any:
    """Record the event and accept it."""
    record({"event": event})
    return {"statusCode": 200, "body": "recorded"}


def echo(event: Event, context: Any) -> Any:
    """Record the event (if ``RECORD_FILE`` is set), then answer with its size, route and body's start."""
    body = event.get("body") or ""
    if "RECORD_FILE" in os.environ:
        record({"event": {**event, "body": body[:200]}})
    reply = {
        "echo": body[:200],
        "bytes": len(body.encode("utf-8")),
        "routeKey": event["requestContext"]["routeKey"],
    }
    return {"statusCode": 200, "body": json.dumps(reply)}


def authorizer(event: Event, context: Any) -> Any:
    """A REQUEST authorizer: ``?token=allow-<user>`` is allowed with a context; anything else is denied.

    Other tokens misbehave as authorizers do: ``crash`` raises, ``unauthorized`` raises
    ``Exception("Unauthorized")``, ``anonymous`` answers without a ``principalId``,
    ``nested`` puts an object in the context, ``wildcard-<user>`` allows
    ``arn:aws:execute-api:{region}:*:{api}/*`` (a wildcard mid-ARN), ``deny-prod-<user>``
    allows everything but denies the ``prod`` stage, ``deny-here-<user>`` also denies
    this very ARN, ``other-account`` allows the right API in another account, and
    ``s3-only`` allows ``s3:*`` on everything.
    """
    if "RECORD_FILE" in os.environ:
        record({"authorizer_event": event})
    token = (event.get("queryStringParameters") or {}).get("token", "")
    arn = event["methodArn"]
    region, account = arn.split(":")[3:5]
    api = arn.split(":")[5].split("/")[0]
    if token == "crash":
        raise RuntimeError("the authorizer failed")
    if token == "unauthorized":
        raise Exception("Unauthorized")
    statements: list[dict[str, Any]]
    user = token.split("-")[-1]
    if token.startswith("allow-"):
        statements = [{"Effect": "Allow", "Resource": arn}]
    elif token.startswith("wildcard-"):
        statements = [{"Effect": "Allow", "Resource": f"arn:aws:execute-api:{region}:*:{api}/*"}]
    elif token.startswith("deny-prod-"):
        statements = [
            {"Effect": "Allow", "Resource": "*"},
            {"Effect": "Deny", "Resource": f"arn:aws:execute-api:{region}:{account}:{api}/prod/*"},
        ]
    elif token.startswith("deny-here-"):
        statements = [{"Effect": "Allow", "Resource": "*"}, {"Effect": "Deny", "Resource": arn}]
    elif token == "other-account":
        statements = [
            {"Effect": "Allow", "Resource": f"arn:aws:execute-api:{region}:000000000000:{api}/*"}
        ]
    elif token == "s3-only":
        statements = [{"Effect": "Allow", "Resource": "*", "Action": "s3:*"}]
    else:
        statements = [{"Effect": "Deny", "Resource": arn}]
    for statement in statements:
        statement.setdefault("Action", "execute-api:Invoke")
    answer: dict[str, Any] = {
        "principalId": user,
        "policyDocument": {"Version": "2012-10-17", "Statement": statements},
        "context": {"user": user, "tier": "gold", "quota": 7},
    }
    if token == "anonymous":
        del answer["principalId"]
    if token == "nested":
        answer["context"]["profile"] = {"name": "ada"}
    return answer


def connect_choosing_subprotocol(event: Event, context: Any) -> Any:
    """``$connect``: record; choose the *last* subprotocol offered (so the choice is visibly ours).

    ``?fail`` makes it raise, ``?garbage`` return a non-object, ``?text-status`` return a
    ``statusCode`` that is not an integer, ``?status=N`` return ``statusCode`` N and
    ``?sleep=S`` sleep S seconds first.
    """
    record({"event": event})
    query = event.get("queryStringParameters") or {}
    if "sleep" in query:
        time.sleep(float(query["sleep"]))
    if "fail" in query:
        raise RuntimeError("$connect failed on purpose")
    if "garbage" in query:
        return "not a proxy response"
    if "text-status" in query:
        return {"statusCode": "200"}
    if "status" in query:
        return {"statusCode": int(query["status"]), "body": json.dumps({"refused": "by $connect"})}
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    response: dict[str, Any] = {"statusCode": 200, "headers": {"X-Reply": "from $connect"}}
    if offered:
        response["headers"]["Sec-WebSocket-Protocol"] = offered[-1]
    return response


def connect_posts_to_self(event: Event, context: Any) -> Any:
    """``$connect``: post to and get the connection being made; record what the API answered."""
    connection_id = event["requestContext"]["connectionId"]
    client = _management(event)
    for op in ("post", "get"):
        try:
            if op == "post":
                response = client.post_to_connection(ConnectionId=connection_id, Data=b"too early")
            else:
                response = client.get_connection(ConnectionId=connection_id)
            outcome = {"status": response["ResponseMetadata"]["HTTPStatusCode"]}
        except client.exceptions.GoneException as exc:
            response = exc.response
            outcome = {
                "status": exc.response["ResponseMetadata"]["HTTPStatusCode"],
                "error": type(exc).__name__,
                "message": exc.response["Error"]["Message"],
            }
        record(
            {"connect_" + op: outcome, "connectionId": connection_id, "http": _via_http(response)}
        )
    return {"statusCode": 200}


def disconnect_posts_to_self(event: Event, context: Any) -> Any:
    """``$disconnect``: post to and get the connection that is closing; record the answers."""
    connection_id = event["requestContext"]["connectionId"]
    client = _management(event, attempts=1)
    outcomes: dict[str, Any] = {}
    for op in ("post", "get"):
        try:
            if op == "post":
                response = client.post_to_connection(ConnectionId=connection_id, Data=b"bye?")
            else:
                response = client.get_connection(ConnectionId=connection_id)
            outcomes[op] = {"status": response["ResponseMetadata"]["HTTPStatusCode"]}
        except client.exceptions.GoneException as exc:
            outcomes[op] = {
                "status": exc.response["ResponseMetadata"]["HTTPStatusCode"],
                "error": type(exc).__name__,
                "http": _via_http(exc.response),
            }
    record({"disconnect": outcomes, "connectionId": connection_id, "event": event})
    return {"statusCode": 200}


def manage(event: Event, context: Any) -> Any:
    """Two-way route: run the ``@connections`` call the frame asks for; answer with the outcome.

    Frame: ``{"action": "manage", "op": "post"|"get"|"delete", "target": id (default: self),
    "data": text, "repeat": n, "attempts": botocore's total_max_attempts}``.
    """
    request = json.loads(event["body"])
    target = request.get("target") or event["requestContext"]["connectionId"]
    client = _management(event, request.get("attempts"))
    outcome: dict[str, Any]
    try:
        if request["op"] == "post":
            data = request.get("data", "").encode("utf-8") * int(request.get("repeat", 1))
            response = client.post_to_connection(ConnectionId=target, Data=data)
            outcome = {}
        elif request["op"] == "get":
            response = client.get_connection(ConnectionId=target)
            outcome = {
                "connectedAt": type(response["ConnectedAt"]).__name__,
                "lastActiveAt": type(response["LastActiveAt"]).__name__,
                "sourceIp": response["Identity"]["SourceIp"],
            }
        else:
            response = client.delete_connection(ConnectionId=target)
            outcome = {}
    except (
        client.exceptions.GoneException,
        client.exceptions.PayloadTooLargeException,
        client.exceptions.LimitExceededException,
    ) as exc:
        response = exc.response
        outcome = {"error": type(exc).__name__}
    outcome["status"] = response["ResponseMetadata"]["HTTPStatusCode"]
    outcome["http"] = _via_http(response)
    return {"statusCode": 200, "body": json.dumps({"manage": outcome})}


# --- misbehaving ----------------------------------------------------------------------------


def raise_error(event: Event, context: Any) -> Any:
    """Fail the invocation with an exception."""
    raise RuntimeError("this handler always fails")


def sleep_past_timeout(event: Event, context: Any) -> Any:
    """Run far past any timeout the tests give the function."""
    time.sleep(30)
    return {"statusCode": 200}


def return_non_dict(event: Event, context: Any) -> Any:
    """Return something that is not a Lambda proxy response."""
    return ["not", "a", "proxy", "response"]


def return_unserializable(event: Event, context: Any) -> Any:
    """Return a value Lambda cannot serialize to JSON."""
    return {"statusCode": 200, "body": {1, 2, 3}}


def return_text_status(event: Event, context: Any) -> Any:
    """Return a ``statusCode`` that is not an integer (Lambda's proxy integration wants one)."""
    return {"statusCode": "200", "body": "the status is text"}


def misbehave_or_pid(event: Event, context: Any) -> Any:
    """Two-way: ``{"do": "raise"|"sleep"|"exit"}`` misbehaves; anything else answers the worker's pid."""
    request = json.loads(event.get("body") or "{}")
    action = request.get("do") if isinstance(request, dict) else None
    if action == "raise":
        raise_error(event, context)
    elif action == "sleep":
        sleep_past_timeout(event, context)
    elif action == "exit":
        exit_process(event, context)
    return {"statusCode": 200, "body": json.dumps({"pid": os.getpid()})}


def exit_process(event: Event, context: Any) -> Any:
    """Kill the worker process mid-invocation, as an out-of-memory kill would."""
    os._exit(3)


# --- Lambda's execution model ---------------------------------------------------------------

#: Per-request state kept in a module global, as careless (or caching) handlers do.
CURRENT: str | None = None


def global_state(event: Event, context: Any) -> Any:
    """Keep the frame in a module global, wait, then post the global back to the sender.

    With one invocation at a time per environment, the global is still this request's.
    """
    global CURRENT
    CURRENT = event["body"]
    time.sleep(float(os.environ.get("HOLD", "0.5")))
    _management(event).post_to_connection(
        ConnectionId=event["requestContext"]["connectionId"], Data=CURRENT.encode("utf-8")
    )
    return {"statusCode": 200}


def report_environment(event: Event, context: Any) -> Any:
    """Two-way: what the function sees of its environment and context."""
    return {
        "statusCode": 200,
        "body": json.dumps(
            {
                "secret": os.environ.get("WSRELAY_SHELL_SECRET", "unset"),
                "variables": sorted(os.environ),
                "memory": context.memory_limit_in_mb,
                "memory_variable": os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
                "remaining_ms": context.get_remaining_time_in_millis(),
                "function_name": context.function_name,
                "arn": context.invoked_function_arn,
                "handler": os.environ.get("_HANDLER"),
                "tz": os.environ.get("TZ"),
                "pid": os.getpid(),
                "own": os.environ.get("OWN_SETTING"),
            }
        ),
    }


def report_credentials(event: Event, context: Any) -> Any:
    """Two-way: the credentials in the function's environment (the key id; the rest as flags)."""
    return {
        "statusCode": 200,
        "body": json.dumps(
            {
                "key": os.environ.get("AWS_ACCESS_KEY_ID"),
                "secret": "AWS_SECRET_ACCESS_KEY" in os.environ,
                "token": os.environ.get("AWS_SESSION_TOKEN"),
            }
        ),
    }


def late_post(event: Event, context: Any) -> Any:
    """Sleep past the gateway's (shortened) integration timeout, then post "late" to the sender."""
    time.sleep(float(os.environ.get("SLEEP", "2")))
    _management(event).post_to_connection(
        ConnectionId=event["requestContext"]["connectionId"], Data=b"late"
    )
    return {"statusCode": 200}


def via_callback_url(event: Event, context: Any) -> Any:
    """Post through ``CALLBACK_URL`` (an ``execute-api`` URL) with a session of its own."""
    session = boto3.session.Session()
    client = session.client("apigatewaymanagementapi", endpoint_url=os.environ["CALLBACK_URL"])
    client.post_to_connection(
        ConnectionId=event["requestContext"]["connectionId"],
        Data=b"via " + os.environ["CALLBACK_URL"].encode(),
    )
    return {"statusCode": 200}


def invoke_worker(event: Event, context: Any) -> Any:
    """Invoke ``WORKER`` with the frame's ``type`` (Event or RequestResponse); post the outcome."""
    request = json.loads(event["body"])
    context_ = event["requestContext"]
    payload = {
        "connectionId": context_["connectionId"],
        "callback": f"https://{context_['domainName']}/{context_['stage']}",
        "say": request.get("say", "done"),
    }
    response = boto3.client("lambda").invoke(
        FunctionName=os.environ["WORKER"],
        InvocationType=request.get("type", "Event"),
        Payload=json.dumps(payload).encode(),
    )
    outcome = {
        "status": response["StatusCode"],
        "error": response.get("FunctionError"),
        "payload": json.loads(response["Payload"].read() or b"null"),
    }
    _management(event).post_to_connection(
        ConnectionId=context_["connectionId"], Data=json.dumps({"invoked": outcome}).encode()
    )
    return {"statusCode": 200}


def worker(event: Event, context: Any) -> Any:
    """Invoked by another function: post ``say`` to the connection it names; return what it did."""
    if event.get("say") == "fail":
        raise ValueError("the worker was told to fail")
    client = boto3.client("apigatewaymanagementapi", endpoint_url=event["callback"])
    client.post_to_connection(ConnectionId=event["connectionId"], Data=event["say"].encode())
    return {"posted": event["say"]}


def dynamodb_script(event: Event, context: Any) -> Any:
    """Two-way: a fixed script of DynamoDB calls on ``CONNECTIONS_TABLE``; what each returned.

    Run on the fast path and over HTTP, the answers must be the same (boto3 parses both).
    """
    from boto3.dynamodb.conditions import Key

    client = boto3.client("dynamodb")
    table_name = os.environ["CONNECTIONS_TABLE"]
    table = boto3.resource("dynamodb").Table(table_name)
    tag = json.loads(event["body"])["tag"]
    out: dict[str, Any] = {}
    for i in range(3):
        table.put_item(Item={"connectionId": f"{tag}-{i}", "roomId": f"room-{tag}", "n": i})
    out["get"] = table.get_item(Key={"connectionId": f"{tag}-1"})["Item"]
    out["query"] = table.query(
        IndexName="byRoom", KeyConditionExpression=Key("roomId").eq(f"room-{tag}"), Limit=2
    )
    out["query"].pop("ResponseMetadata")
    try:
        client.put_item(
            TableName=table_name,
            Item={"connectionId": {"S": f"{tag}-1"}},
            ConditionExpression="attribute_not_exists(connectionId)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        out["conditional"] = "accepted"
    except client.exceptions.ConditionalCheckFailedException as exc:
        out["conditional"] = exc.response["Error"]["Code"]
        out["conditional_item"] = exc.response.get("Item")  # a modelled field of the error
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": table_name,
                        "Key": {"connectionId": {"S": f"{tag}-2"}},
                        "ConditionExpression": "attribute_not_exists(connectionId)",
                    }
                }
            ]
        )
        out["transaction"] = "accepted"
    except client.exceptions.TransactionCanceledException as exc:
        out["transaction"] = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
    try:
        client.get_item(TableName="no-such-table", Key={"connectionId": {"S": "x"}})
    except client.exceptions.ResourceNotFoundException as exc:
        out["missing_table"] = exc.response["Error"]["Code"]
    described = client.describe_table(TableName=table_name)["Table"]
    out["created_is_datetime"] = type(described["CreationDateTime"]).__name__
    for i in range(3):
        table.delete_item(Key={"connectionId": f"{tag}-{i}"})
    return {"statusCode": 200, "body": json.dumps(out, default=str)}
