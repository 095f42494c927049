"""``aws_hooks``: where a function's AWS calls go, and the canary for the botocore internal it uses."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import botocore
import pytest

from wsrelay.local.lambda_runtime import aws_hooks
from wsrelay.local.lambda_runtime.aws_hooks import LocalEndpointMissing, Routes, route_request

GATEWAY = "http://127.0.0.1:8765"
API_HOST = "abc123defg.execute-api.eu-west-1.amazonaws.com"


def routes(all_services: bool = True) -> Routes:
    services = {"dynamodb": "http://127.0.0.1:9000", "lambda": GATEWAY}
    if all_services:
        services["*"] = "http://127.0.0.1:9100"
    return Routes(GATEWAY, ["127.0.0.1:8765", "localhost:8765", API_HOST], services)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:8765/dev/@connections/abc%3D",
        "http://localhost:8765/dev/@connections/abc%3D",
        f"https://{API_HOST}/dev/@connections/abc%3D",
        f"https://{API_HOST}:443/dev/@connections/abc%3D",
    ],
)
def test_every_name_of_the_gateway_reaches_it_over_plain_http(url: str) -> None:
    """The event's domainName, the API's execute-api host (with or without :443): all go to the gateway."""
    assert route_request("apigatewaymanagementapi", url, routes()) == (
        "http://127.0.0.1:8765/dev/@connections/abc%3D"
    )


def test_a_name_learned_from_a_proxy_reaches_the_gateway() -> None:
    """Behind a proxy clients use a host the gateway learns from their handshake."""
    table = routes()
    url = "https://hub.example.org/dev/@connections/x"
    assert route_request("apigatewaymanagementapi", url, table) is None
    table.learn_host("hub.example.org")
    assert route_request("apigatewaymanagementapi", url, table) == (
        "http://127.0.0.1:8765/dev/@connections/x"
    )


def test_another_apis_host_is_not_rewritten() -> None:
    """A post to another API on AWS is not sent anywhere (the hook answers it 403)."""
    url = "https://zzz999zzzz.execute-api.eu-west-1.amazonaws.com/dev/@connections/x"
    assert route_request("apigatewaymanagementapi", url, routes()) is None


@pytest.mark.parametrize(
    ("service", "url", "expected"),
    [
        ("dynamodb", "https://dynamodb.eu-west-1.amazonaws.com/", "http://127.0.0.1:9000/"),
        (
            "lambda",
            "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/f/invocations",
            "http://127.0.0.1:8765/2015-03-31/functions/f/invocations",
        ),
        ("sqs", "https://sqs.eu-west-1.amazonaws.com/?Action=X", "http://127.0.0.1:9100/?Action=X"),
        (
            "s3",
            "https://my-bucket.s3.eu-west-1.amazonaws.com/a/b.txt",
            "http://127.0.0.1:9100/my-bucket/a/b.txt",
        ),
        (
            "s3",
            "https://s3.eu-west-1.amazonaws.com/my-bucket/k",
            "http://127.0.0.1:9100/my-bucket/k",
        ),
        ("sts", "https://sts.amazonaws.com/", "http://127.0.0.1:9100/"),
    ],
)
def test_aws_hosts_go_to_the_local_service(service: str, url: str, expected: str) -> None:
    """DynamoDB to its endpoint, Lambda to the gateway, anything else to moto (S3 path-style)."""
    assert route_request(service, url, routes()) == expected


def test_local_endpoints_are_left_alone() -> None:
    """A DynamoDB Local the function is configured for is where its calls go."""
    assert route_request("dynamodb", "http://localhost:8000/", routes()) is None


def test_a_service_with_no_local_stand_in_is_refused_with_the_fix() -> None:
    """Without the all-services moto, an SQS call to AWS fails naming the service and the fix."""
    with pytest.raises(LocalEndpointMissing) as raised:
        route_request("sqs", "https://sqs.us-east-1.amazonaws.com/", routes(all_services=False))
    message = str(raised.value)
    assert "sqs" in message and "--template" in message and "No call leaves this machine" in message


def test_canary_botocore_is_in_the_proven_range() -> None:
    """The canary: botocore is a release ``aws_hooks`` was proven on (BUILTIN_HANDLERS, before-call)."""
    version = tuple(int(p) for p in botocore.__version__.split(".")[:2])
    low, high = aws_hooks.PROVEN_BOTOCORE
    assert low <= version < high, (
        f"botocore {botocore.__version__} is outside the range aws_hooks was proven on "
        f"({low} to {high}): run tests/local/test_aws_hooks.py and the template suite, then "
        "widen PROVEN_BOTOCORE in wsrelay/local/lambda_runtime/aws_hooks.py"
    )
    from botocore import handlers

    assert isinstance(handlers.BUILTIN_HANDLERS, list), "botocore.handlers.BUILTIN_HANDLERS moved"


CANARY = textwrap.dedent(
    """
    import boto3, botocore.exceptions, importlib.util, sys
    spec = importlib.util.spec_from_file_location("hooks", sys.argv[1])
    hooks = importlib.util.module_from_spec(spec); spec.loader.exec_module(hooks)
    hooks.install(hooks.Routes("http://127.0.0.1:8765", [], {"dynamodb": "http://127.0.0.1:9"}),
                  None, fast_path=False)

    def never_leave(request, **_):  # a safety net: an unrouted call must not reach AWS
        if "127.0.0.1" not in request.url:
            raise RuntimeError(f"not routed: {request.url}")

    for make in (lambda: boto3.client("dynamodb"), lambda: boto3.session.Session().client("dynamodb")):
        client = make()
        client.meta.events.register("before-send", never_leave)
        try:
            client.list_tables()
        except botocore.exceptions.EndpointConnectionError as exc:
            print("routed" if "127.0.0.1:9" in str(exc) else f"elsewhere: {exc}")
        except RuntimeError as exc:
            print(exc)
    """
)


def test_canary_every_session_is_routed() -> None:
    """A client of the default session and of a ``Session()`` of its own are both routed."""
    result = subprocess.run(
        [sys.executable, "-c", CANARY, aws_hooks.__file__],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_MAX_ATTEMPTS": "1",
            "PATH": "",
        },
    )
    assert result.stdout.split() == ["routed", "routed"], result.stdout + result.stderr
