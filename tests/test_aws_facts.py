"""``wsrelay.aws_facts`` is the one home of AWS's numbers: a second copy anywhere is a bug.

The values are checked against AWS's documentation here (written out, not imported), and
every other module of the package is read with ``ast`` for a literal copy of one of them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from wsrelay import aws_facts

PACKAGE = Path(aws_facts.__file__).parent
HOME = Path(aws_facts.__file__)

#: Numbers that are AWS facts, as a module would write them (29 s as 29 or 29.0, …).
NUMBERS: set[object] = {32_768, 131_072, 7_200, 600, 29, 900}
#: The scale facts (notebook 08) distinctive enough to look for (500 and 1,000 are not).
NUMBERS |= {1_048_576, 262_144, 21_600, 1_769, 3_000, 0.25, 0.0000166667, 0.08, 0.125}
#: Strings that are AWS facts: the @connections error codes and the predefined route keys.
STRINGS: set[object] = {
    "GoneException",
    "PayloadTooLargeException",
    "LimitExceededException",
    "ForbiddenException",
    "$connect",
    "$disconnect",
    "$default",
    "Unauthorized",
    "execute-api:Invoke",
}
#: Where a literal is allowed, and why.
ALLOWED: dict[str, set[object]] = {
    # A function's environment cannot import wsrelay (its code may ship a package of that
    # name): the gateway passes the limit in its configuration, and this default must agree
    # (tests/local/test_aws_hooks.py checks that it does).
    "local/lambda_runtime/aws_hooks.py": {131_072, "ForbiddenException"},
    # The workbook's checkers hold the answers a learner's code must give, written out as
    # the learner writes them.
    "exercises/nb01.py": {"$connect", "$disconnect", "$default"},
    # The model answer of the learner's own Lambda file: one file that ships alone (no
    # wsrelay in its package), written as the learner writes it.
    "exercises/chat_app/lambda_function.py": {"$connect", "$disconnect"},
    # The model answer of notebook 09's exercise, shown to the learner as written.
    "exercises/nb09.py": {"execute-api:Invoke"},
}


def test_the_facts_are_awss() -> None:
    """The values are the ones AWS documents (quotas table, botocore model, Lambda)."""
    assert aws_facts.MAX_FRAME_BYTES == 32 * 1024
    assert aws_facts.MAX_MESSAGE_BYTES == 128 * 1024
    assert aws_facts.IDLE_TIMEOUT_SECONDS == 10 * 60
    assert aws_facts.MAX_CONNECTION_SECONDS == 2 * 60 * 60
    assert aws_facts.INTEGRATION_TIMEOUT_SECONDS == 29
    assert aws_facts.LAMBDA_MAX_TIMEOUT_SECONDS == 15 * 60
    errors = [aws_facts.GONE, aws_facts.PAYLOAD_TOO_LARGE, aws_facts.LIMIT_EXCEEDED]
    assert [(e.status, e.code) for e in [*errors, aws_facts.FORBIDDEN]] == [
        (410, "GoneException"),
        (413, "PayloadTooLargeException"),
        (429, "LimitExceededException"),
        (403, "ForbiddenException"),
    ]
    assert aws_facts.GONE.message == "The connection with the provided id no longer exists."


def test_the_scale_facts_are_awss_and_each_names_its_page() -> None:
    """Notebook 08's quotas and prices (us-east-1), each with the AWS page it comes from."""
    assert aws_facts.NEW_CONNECTIONS_PER_SECOND == 500
    assert aws_facts.ACCOUNT_REQUESTS_PER_SECOND == 10_000
    assert aws_facts.LAMBDA_CONCURRENCY_DEFAULT == 1_000
    assert aws_facts.LAMBDA_ASYNC_PAYLOAD_BYTES == 1024 * 1024  # Invoke, Event: 1 MB
    assert aws_facts.LAMBDA_INVOKE_ASYNC_PAYLOAD_BYTES == 256 * 1024  # InvokeAsync: 256 KB
    assert aws_facts.LAMBDA_ASYNC_MAX_EVENT_AGE_SECONDS == 6 * 60 * 60
    assert aws_facts.LAMBDA_MB_PER_VCPU == 1_769
    assert aws_facts.DYNAMODB_PARTITION_READ_UNITS == 3_000
    assert aws_facts.DYNAMODB_PARTITION_WRITE_UNITS == 1_000
    assert aws_facts.WEBSOCKET_PRICE_PER_MILLION_MESSAGES == 1.00
    assert aws_facts.WEBSOCKET_PRICE_PER_MILLION_CONNECTION_MINUTES == 0.25
    assert aws_facts.MESSAGE_METERING_BYTES == 32 * 1024
    assert aws_facts.LAMBDA_PRICE_PER_GB_SECOND == 0.0000166667
    assert aws_facts.LAMBDA_PRICE_PER_MILLION_REQUESTS == 0.20
    assert aws_facts.DYNAMODB_PRICE_PER_MILLION_READ_UNITS == 0.125
    assert aws_facts.APPSYNC_EVENTS_PRICE_PER_MILLION_OPERATIONS == 1.00
    assert aws_facts.APPSYNC_EVENTS_PRICE_PER_MILLION_CONNECTION_MINUTES == 0.08
    assert aws_facts.IOT_CORE_PRICE_PER_MILLION_MESSAGES == 1.00
    assert aws_facts.IOT_CORE_PRICE_PER_MILLION_CONNECTION_MINUTES == 0.08
    assert aws_facts.MANAGED_METERING_BYTES == 5 * 1024
    facts = {name for name in aws_facts.__all__ if name.isupper() and name != "SOURCES"}
    scale_facts = set(aws_facts.SOURCES)
    assert scale_facts <= facts
    assert all(
        url.startswith(("https://docs.aws.amazon.com/", "https://aws.amazon.com/"))
        for url in aws_facts.SOURCES.values()
    )
    documented = {
        "NEW_CONNECTIONS_PER_SECOND", "ACCOUNT_REQUESTS_PER_SECOND", "LAMBDA_CONCURRENCY_DEFAULT",
        "LAMBDA_ASYNC_PAYLOAD_BYTES", "LAMBDA_INVOKE_ASYNC_PAYLOAD_BYTES", "LAMBDA_MB_PER_VCPU",
        "LAMBDA_ASYNC_MAX_EVENT_AGE_SECONDS",
        "DYNAMODB_PARTITION_READ_UNITS", "DYNAMODB_PARTITION_WRITE_UNITS",
        "WEBSOCKET_PRICE_PER_MILLION_MESSAGES", "WEBSOCKET_PRICE_PER_MILLION_CONNECTION_MINUTES",
        "MESSAGE_METERING_BYTES", "LAMBDA_PRICE_PER_GB_SECOND", "LAMBDA_PRICE_PER_MILLION_REQUESTS",
        "DYNAMODB_PRICE_PER_MILLION_READ_UNITS", "APPSYNC_EVENTS_PRICE_PER_MILLION_OPERATIONS",
        "APPSYNC_EVENTS_PRICE_PER_MILLION_CONNECTION_MINUTES", "IOT_CORE_PRICE_PER_MILLION_MESSAGES",
        "IOT_CORE_PRICE_PER_MILLION_CONNECTION_MINUTES", "MANAGED_METERING_BYTES",
    }  # fmt: skip
    assert scale_facts == documented, "every scale fact names its source in SOURCES"


def test_the_error_table_matches_the_botocore_model() -> None:
    """Each modelled error of ``apigatewaymanagementapi`` has its status here, and no more."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("apigatewaymanagementapi")
    modelled = {
        shape.name: shape.metadata["error"]["httpStatusCode"] for shape in model.error_shapes
    }
    ours = {
        e.code: e.status
        for e in (
            aws_facts.GONE,
            aws_facts.PAYLOAD_TOO_LARGE,
            aws_facts.LIMIT_EXCEEDED,
            aws_facts.FORBIDDEN,
        )
    }
    assert ours == modelled


def _literals(path: Path) -> list[tuple[int, object]]:
    """(line, value) of every number and string constant of a module, docstrings aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found: list[tuple[int, object]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in docstrings:
            continue
        value = node.value
        if isinstance(value, bool):
            continue
        facts: set[object] = NUMBERS if isinstance(value, int | float) else STRINGS
        if value in facts:
            found.append((node.lineno, value))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != HOME)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_module_writes_a_fact_again(path: Path) -> None:
    """No module but ``aws_facts`` writes one of AWS's numbers, error codes or route keys."""
    relative = path.relative_to(PACKAGE).as_posix()
    allowed = ALLOWED.get(relative, set())
    strays = [(line, value) for line, value in _literals(path) if value not in allowed]
    assert strays == [], f"{relative}: import these from wsrelay.aws_facts: {strays}"


def test_the_scan_finds_a_copy(tmp_path: Path) -> None:
    """The check itself works: a module with ``131_072`` and ``"$default"`` is caught."""
    module = tmp_path / "stray.py"
    module.write_text(
        '"""doc: 131072 and $default in a docstring are fine."""\nLIMIT = 131_072\nKEY = "$default"\nT = 29.0\n'
    )
    assert _literals(module) == [(2, 131_072), (3, "$default"), (4, 29.0)]
