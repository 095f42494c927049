"""The test apps (tests/apps/*), read with load_app: what AWS would make of each template.

Expected values follow AWS's documented rules, not this reader's output: SAM's ``Globals``
merge into each function and a function's own values win; a ``SimpleTable`` without
``PrimaryKey`` or ``ProvisionedThroughput`` has a String key ``id`` and is PAY_PER_REQUEST;
CloudFormation's table default is PROVISIONED; ``Ref`` of a queue is its URL and of a stage
its name; Lambda's defaults are 3 s and 128 MB; environment values are strings.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from wsrelay.local.api import Function
from wsrelay.local.templates import App, TemplateError, load_app

APPS = Path(__file__).parent.parent / "apps"
GENERATED = r"[A-Z0-9]{12}"


def load(name: str, **options: Any) -> App:
    return load_app(APPS / name / "template.yaml", stack_name=name.replace("_", "-"), **options)


def function(app: App, logical_id: str) -> Function:
    return app.api.functions[app.functions_by_logical_id[logical_id]]


def test_every_app_template_lints_clean() -> None:
    """cfn-lint (with informational checks) finds nothing in any test app's template."""
    beside_python = Path(sys.executable).with_name("cfn-lint")
    cfn_lint = str(beside_python) if beside_python.exists() else shutil.which("cfn-lint")
    assert cfn_lint, "cfn-lint is not installed: pip install -e '.[dev]'"
    templates = sorted(str(p) for p in APPS.glob("*/template.yaml"))
    assert len(templates) == 6
    done = subprocess.run(
        [cfn_lint, "--include-checks", "I", "--", *templates],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout) == (0, ""), done.stdout + done.stderr


# -- sam_chat ---------------------------------------------------------------------------


def test_sam_chat_routes_and_functions() -> None:
    """Three routes, each to its own function, with the Globals' runtime, timeout, memory and table."""
    app = load("sam_chat")
    assert {k: r.function for k, r in app.api.routes.items()} == {
        "$connect": app.functions_by_logical_id["ConnectFunction"],
        "$disconnect": app.functions_by_logical_id["DisconnectFunction"],
        "sendmessage": app.functions_by_logical_id["SendMessageFunction"],
    }
    assert not any(r.two_way or r.authorizer for r in app.api.routes.values())
    table = app.resources["ConnectionsTable"]
    assert re.fullmatch(rf"sam-chat-ConnectionsTable-{GENERATED}", table)
    for logical_id, folder in [
        ("ConnectFunction", "connect"),
        ("DisconnectFunction", "disconnect"),
        ("SendMessageFunction", "send_message"),
    ]:
        fn = function(app, logical_id)
        assert re.fullmatch(rf"sam-chat-{logical_id}-{GENERATED}", fn.name)
        assert (fn.handler, fn.runtime, fn.timeout, fn.memory_size) == (
            "app.handler",
            "python3.12",
            10.0,
            256,
        )
        assert fn.code_dir == (APPS / "sam_chat" / "src" / folder).resolve()
        assert fn.environment["CONNECTIONS_TABLE"] == table
    assert function(app, "SendMessageFunction").environment == {
        "CONNECTIONS_TABLE": table,
        "MESSAGES_TABLE": app.resources["MessagesTable"],
    }


def test_sam_chat_tables() -> None:
    """The connections table with its roomId index (SSE dropped) and the SimpleTable SAM expands."""
    app = load("sam_chat")
    tables = {t.logical_id: t for t in app.tables}
    assert tables["ConnectionsTable"].create_params == {
        "TableName": app.resources["ConnectionsTable"],
        "AttributeDefinitions": [
            {"AttributeName": "connectionId", "AttributeType": "S"},
            {"AttributeName": "roomId", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "connectionId", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "roomId-index",
                "KeySchema": [{"AttributeName": "roomId", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    assert tables["MessagesTable"].create_params == {
        "TableName": app.resources["MessagesTable"],
        "AttributeDefinitions": [{"AttributeName": "messageId", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "messageId", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def test_sam_chat_outputs_stage_and_not_emulated() -> None:
    """The wss:// URL output names the stage (Ref of a stage is its name); roles and permissions are listed."""
    app = load("sam_chat")
    assert app.stage == "prod"
    assert (
        app.outputs["WebSocketURL"]
        == f"wss://{app.api.api_id}.execute-api.us-east-1.amazonaws.com/prod"
    )
    assert app.outputs["SendMessageFunctionArn"] == (
        f"arn:aws:lambda:us-east-1:123456789012:function:{app.functions_by_logical_id['SendMessageFunction']}"
    )
    assert sorted((n.logical_id, n.type) for n in app.not_emulated) == [
        ("ConnectFunctionRole", "AWS::IAM::Role"),
        ("ConnectPermission", "AWS::Lambda::Permission"),
        ("DisconnectFunctionRole", "AWS::IAM::Role"),
        ("DisconnectPermission", "AWS::Lambda::Permission"),
        ("SendMessageFunctionRole", "AWS::IAM::Role"),
        ("SendMessagePermission", "AWS::Lambda::Permission"),
    ]
    assert [w for w in app.warnings if "Permission" in w] == []


# -- two_tables -------------------------------------------------------------------------


def test_two_tables_routes_functions_and_code() -> None:
    """One function per route; the zip's code extracted; explicit and default settings."""
    app = load("two_tables")
    assert {k: r.function for k, r in app.api.routes.items()} == {
        "$connect": app.functions_by_logical_id["ConnectFunction"],
        "createroom": app.functions_by_logical_id["CreateRoomFunction"],
        "listrooms": app.functions_by_logical_id["ListRoomsFunction"],
        "whoami": "two-tables-whoami",
    }
    folder = APPS / "two_tables"
    assert function(app, "ConnectFunction").code_dir == folder / "src" / "connect"
    listing = function(app, "ListRoomsFunction")
    assert listing.code_dir is not None and listing.code_dir != folder / "src" / "list_rooms"
    assert (listing.code_dir / "app.py").read_bytes() == (
        folder / "src" / "list_rooms" / "app.py"
    ).read_bytes()
    assert (listing.timeout, listing.memory_size) == (5.0, 128)
    assert listing.environment == {"ROOMS_TABLE": app.resources["RoomsTable"], "PAGE_SIZE": "2"}
    who = function(app, "WhoAmIFunction")
    assert (who.timeout, who.memory_size) == (3.0, 512)
    assert who.environment == {"USERS_TABLE": app.resources["UsersTable"], "STRICT": "true"}


def test_two_tables_tables() -> None:
    """Users: on-demand, byEmail, TTL (PITR and tags dropped). Rooms: PROVISIONED by default, byOwner, a stream."""
    app = load("two_tables")
    tables = {t.logical_id: t for t in app.tables}
    users = tables["UsersTable"]
    assert users.ttl_attribute == "expiresAt"
    assert users.create_params["BillingMode"] == "PAY_PER_REQUEST"
    assert set(users.create_params) == {
        "TableName",
        "AttributeDefinitions",
        "KeySchema",
        "GlobalSecondaryIndexes",
        "BillingMode",
    }
    assert [i["IndexName"] for i in users.create_params["GlobalSecondaryIndexes"]] == ["byEmail"]
    rooms = tables["RoomsTable"].create_params
    assert rooms["BillingMode"] == "PROVISIONED"
    assert rooms["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    assert rooms["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "byOwner",
            "KeySchema": [
                {"AttributeName": "ownerId", "KeyType": "HASH"},
                {"AttributeName": "createdAt", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["roomName"]},
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        }
    ]
    assert rooms["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert tables["RoomsTable"].ttl_attribute is None


def test_two_tables_stage_outputs_and_not_emulated() -> None:
    """Stage variables as strings; outputs by Join and GetAtt; the role and four permissions listed."""
    app = load("two_tables")
    assert (app.stage, app.stage_variables) == ("v1", {"greeting": "hello", "retries": "3"})
    rooms = app.resources["RoomsTable"]
    assert (
        app.outputs["WebSocketUrl"]
        == f"wss://{app.api.api_id}.execute-api.us-east-1.amazonaws.com/v1"
    )
    assert app.outputs["RoomsStream"].startswith(
        f"arn:aws:dynamodb:us-east-1:123456789012:table/{rooms}/stream/"
    )
    assert sorted(n.logical_id for n in app.not_emulated) == [
        "ConnectPermission",
        "CreateRoomPermission",
        "FunctionRole",
        "ListRoomsPermission",
        "WhoAmIPermission",
    ]
    assert [w for w in app.warnings if "Permission" in w] == []


def test_two_tables_zip_is_its_source() -> None:
    """The committed list_rooms.zip holds exactly src/list_rooms/app.py."""
    folder = APPS / "two_tables"
    with zipfile.ZipFile(folder / "list_rooms.zip") as archive:
        assert archive.namelist() == ["app.py"]
        assert archive.read("app.py") == (folder / "src" / "list_rooms" / "app.py").read_bytes()


# -- authorized -------------------------------------------------------------------------


def test_authorized_connect_has_the_request_authorizer() -> None:
    """$connect runs the inline authorizer function on the token query string."""
    app = load("authorized")
    authorizer = app.api.routes["$connect"].authorizer
    assert authorizer is not None
    assert authorizer.function == app.functions_by_logical_id["AuthorizerFunction"]
    assert (authorizer.identity_sources, authorizer.name) == (
        ("route.request.querystring.token",),
        "token-authorizer",
    )
    inline = function(app, "AuthorizerFunction")
    assert inline.handler == "index.handler" and inline.code_dir is not None
    assert '"let-me-in"' in (inline.code_dir / "index.py").read_text()


def test_authorized_echo_is_two_way_and_whoami_is_not() -> None:
    """echo has a $default route response; whoami only a selection expression, so it is one-way."""
    routes = load("authorized").api.routes
    assert (routes["echo"].two_way, routes["whoami"].two_way, routes["$connect"].two_way) == (
        True,
        False,
        False,
    )


def test_authorized_warns_about_the_missing_permission_only() -> None:
    """whoami's function has no invoke permission: the one permission warning names it."""
    app = load("authorized")
    (warning,) = [w for w in app.warnings if "Permission" in w]
    assert "WhoAmIFunction (AWS::Serverless::Function, line" in warning


def test_authorized_stage_parameter_allowed_values() -> None:
    """The stage comes from a parameter with AllowedValues: prod passes, staging does not."""
    assert load("authorized", parameters={"StageName": "prod"}).stage == "prod"
    with pytest.raises(TemplateError, match="'staging' is not one of its AllowedValues"):
        load("authorized", parameters={"StageName": "staging"})


# -- endpoints --------------------------------------------------------------------------


def test_endpoints_environment_urls_by_sub_and_join_agree() -> None:
    """CALLBACK_URL (Fn::Sub) and CALLBACK_URL_JOINED (Fn::Join) are the same execute-api URL."""
    app = load("endpoints")
    url = f"https://{app.api.api_id}.execute-api.us-east-1.amazonaws.com/dev"
    assert app.api_host == f"{app.api.api_id}.execute-api.us-east-1.amazonaws.com"
    for fn in app.api.functions.values():
        assert (fn.environment["CALLBACK_URL"], fn.environment["CALLBACK_URL_JOINED"]) == (url, url)
    assert app.outputs["CallbackUrl"] == url


def test_endpoints_functions_invoking_functions() -> None:
    """Kickoff gets Worker's name (Ref), Sync gets Doubler's ARN (GetAtt); neither target has a route."""
    app = load("endpoints")
    worker, doubler = app.functions_by_logical_id["Worker"], app.functions_by_logical_id["Doubler"]
    assert function(app, "Kickoff").environment["WORKER_FUNCTION"] == worker
    assert (
        function(app, "Sync").environment["DOUBLER_ARN"]
        == f"arn:aws:lambda:us-east-1:123456789012:function:{doubler}"
    )
    assert {worker, doubler}.isdisjoint(r.function for r in app.api.routes.values())
    assert (function(app, "Worker").timeout, function(app, "Kickoff").timeout) == (20.0, 10.0)


def test_endpoints_queue_url_from_ref() -> None:
    """Ref of the queue is its URL; it is a service resource for the all-services moto."""
    app = load("endpoints")
    (queue,) = app.service_resources
    assert (queue.logical_id, queue.type) == ("Queue", "AWS::SQS::Queue")
    assert re.fullmatch(rf"endpoints-Queue-{GENERATED}", queue.physical_id)
    url = f"https://sqs.us-east-1.amazonaws.com/123456789012/{queue.physical_id}"
    assert function(app, "Enqueue").environment["QUEUE_URL"] == url == app.outputs["QueueUrl"]
    assert app.outputs["QueueArn"] == f"arn:aws:sqs:us-east-1:123456789012:{queue.physical_id}"


def test_endpoints_stage_pattern() -> None:
    """Stage must match [a-z]+ entirely; the constraint description is quoted."""
    assert load("endpoints", parameters={"Stage": "prod"}).stage == "prod"
    with pytest.raises(
        TemplateError,
        match=r"'prod1' does not match its AllowedPattern .*\(lower-case letters only\)",
    ):
        load("endpoints", parameters={"Stage": "prod1"})


# -- isolation --------------------------------------------------------------------------


def test_isolation_functions() -> None:
    """Lambda's defaults for remember; 256 MB / 7 s for environment; 10 s and the sleep for late."""
    app = load("isolation")
    assert (
        function(app, "RememberFunction").timeout,
        function(app, "RememberFunction").memory_size,
    ) == (3.0, 128)
    assert (
        function(app, "EnvironmentFunction").timeout,
        function(app, "EnvironmentFunction").memory_size,
    ) == (7.0, 256)
    late = function(app, "LateFunction")
    assert (late.timeout, late.environment) == (10.0, {"SLEEP_SECONDS": "3"})
    assert set(app.api.routes) == {"remember", "environment", "late"}
    assert app.stage == "isolation" and app.outputs == {}


def test_isolation_sleep_parameter_is_bounded() -> None:
    """LateSleepSeconds is a Number within 0..9: 1 passes (as "1"), 12 does not."""
    app = load("isolation", parameters={"LateSleepSeconds": "1"})
    assert function(app, "LateFunction").environment == {"SLEEP_SECONDS": "1"}
    with pytest.raises(TemplateError, match="value 12 is outside its MaxValue 9"):
        load("isolation", parameters={"LateSleepSeconds": "12"})
