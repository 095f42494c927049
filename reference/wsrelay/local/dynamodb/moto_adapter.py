"""The one module through which the gateway touches moto beyond its public server API.

moto's documented ways in are ``mock_aws`` and ``moto.server.ThreadedMotoServer``; the
gateway serves moto's WSGI applications on its own loop instead (``embedded.py``) and can
take faster, equivalence-tested paths through moto's DynamoDB (``motofast.py``). Both lean
on moto internals, so both go through here:

- :data:`PROVEN_MOTO` names the moto releases they were proven on; :func:`canary` lists
  every internal they use that is missing or changed (``tests/test_moto_adapter.py`` fails
  on that list, in one place, when a pinned internal moves);
- :func:`speedups` installs the fast paths only on a proven moto whose canary is clean,
  and says once, in one log line, that stock moto is used otherwise. Installed, the fast
  paths are still inert: they act only inside :func:`fast` (a context variable), which an
  :class:`~wsrelay.local.dynamodb.embedded.EmbeddedDynamoDB` created with ``fast=True``
  enters around its own requests. Any other use of moto in the process — ``mock_aws``, a
  ``ThreadedMotoServer``, a gateway that did not opt in — runs moto's own code.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = [
    "PROVEN_MOTO",
    "WsgiApp",
    "active",
    "canary",
    "fast",
    "moto_all_services_app",
    "moto_dynamodb_app",
    "speedups",
    "stock",
]

logger = logging.getLogger("wsrelay.local")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: moto releases the internals below were proven on: from (5, 2) up to, not including, (5, 3).
PROVEN_MOTO = ((5, 2), (5, 3))

#: Whether the running code is a request of a server that opted in to the fast paths.
_FAST: contextvars.ContextVar[bool] = contextvars.ContextVar("wsrelay_motofast", default=False)
_state: dict[str, Any] = {"installed": None}

#: ``Table.query``'s parameters, as the fast ``Table.query`` takes and passes them on.
_QUERY_PARAMETERS = [
    "self",
    "hash_key",
    "range_comparison",
    "range_objs",
    "limit",
    "exclusive_start_key",
    "scan_index_forward",
    "projection_expressions",
    "index_name",
    "consistent_read",
    "filter_expression",
    "hash_key_conditions",
    "range_key_conditions",
    "filter_kwargs",
]


def moto_version() -> tuple[int, ...]:
    import moto

    return tuple(int(part) for part in moto.__version__.split(".")[:2] if part.isdigit())


def canary() -> list[str]:
    """Every moto internal the gateway relies on that is missing or changed; ``[]`` if none."""
    problems: list[str] = []

    def need(module: str, *names: str) -> Any:
        try:
            found: Any = __import__(module, fromlist=["_"])
        except ImportError as exc:
            problems.append(f"{module}: {exc}")
            return None
        for name in names:
            if not hasattr(found, name):
                problems.append(f"{module}.{name} is missing")
        return found

    werkzeug_app = need(
        "moto.moto_server.werkzeug_app", "create_backend_app", "DomainDispatcherApplication"
    )
    responses = need("moto.dynamodb.responses", "DynamoResult", "dynamo_to_dict")
    need("moto.core.responses", "method_names_from_class")
    need("moto.dynamodb.models.dynamo_type", "DynamoType", "LimitedSizeDict", "Item")
    table = need("moto.dynamodb.models.table", "Table", "GlobalSecondaryIndex", "RESULT_SIZE_LIMIT")
    need("moto.dynamodb.comparisons", "OpDefault")
    if responses is not None and not hasattr(responses.DynamoResult, "execute_result"):
        problems.append("moto.dynamodb.responses.DynamoResult.execute_result is missing")
    if table is not None:
        query = getattr(table.Table, "query", None)
        if query is None or list(inspect.signature(query).parameters) != _QUERY_PARAMETERS:
            problems.append("moto.dynamodb.models.table.Table.query's parameters changed")
        for name in (
            "_generate_attr_to_sort_by",
            "_item_comes_before_dct",
            "_get_last_evaluated_key",
        ):
            if not hasattr(table.Table, name):
                problems.append(f"moto.dynamodb.models.table.Table.{name} is missing")
    if werkzeug_app is not None:
        parameters = list(inspect.signature(werkzeug_app.create_backend_app).parameters)
        if parameters != ["service"]:
            problems.append("moto.moto_server.werkzeug_app.create_backend_app's parameters changed")
    return problems


def speedups() -> bool:
    """Install the fast paths if this moto is proven and its canary clean; say so once if not."""
    if _state["installed"] is None:
        low, high = PROVEN_MOTO
        version = moto_version()
        problems = canary() if low <= version < high else [f"moto {'.'.join(map(str, version))}"]
        if problems:
            logger.warning(
                "stock moto for the embedded DynamoDB: wsrelay's speed-ups were proven on moto "
                "%s.x (%s)",
                ".".join(map(str, low)),
                "; ".join(problems),
            )
            _state["installed"] = False
        else:
            from wsrelay.local.dynamodb import motofast

            motofast.install(_FAST)
            _state["installed"] = True
    return bool(_state["installed"])


def active() -> bool:
    """Whether the fast paths act for the code running now."""
    return _FAST.get()


@contextlib.contextmanager
def fast() -> Iterator[None]:
    """Run the block on the fast paths (if :func:`speedups` installed them)."""
    token = _FAST.set(True)
    try:
        yield
    finally:
        _FAST.reset(token)


@contextlib.contextmanager
def stock() -> Iterator[None]:
    """Run the block on moto's own paths, even inside :func:`fast` (tests compare the two)."""
    token = _FAST.set(False)
    try:
        yield
    finally:
        _FAST.reset(token)


def moto_dynamodb_app() -> WsgiApp:
    """moto's DynamoDB WSGI application (Flask's debug mode off: it costs 5% a request)."""
    from moto.moto_server.werkzeug_app import create_backend_app

    app = create_backend_app("dynamodb")
    # moto builds its app in debug mode, which wraps every request's form data in a class
    # made for the occasion. Flask's public settings: errors still reach the caller.
    app.debug = False
    app.config["PROPAGATE_EXCEPTIONS"] = True
    wsgi: WsgiApp = app
    return wsgi


def moto_all_services_app() -> WsgiApp:
    """moto's application for every service, dispatched by host name or signature."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    wsgi: WsgiApp = DomainDispatcherApplication(create_backend_app)
    return wsgi
