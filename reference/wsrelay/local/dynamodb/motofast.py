"""Faster paths through the embedded moto server for what the chat does: read a room, and
put, get and delete one row.

Reading a room of 1,000 through moto 5.2 cost about 75 ms of the gateway process's time
before the first post could go out, and a connect storm spent more in moto's response
serializer than in the writes themselves. Three places are replaced, each only where the
result is provably the same:

1. **The response serializer** walks botocore's output shape value by value (0.2-0.4 ms per
   item returned). Query, Scan, GetItem, PutItem, DeleteItem and UpdateItem results are
   already in DynamoDB's wire form, so the shape's members are written with
   ``json.dumps``; a result JSON cannot write directly (binary attributes) still goes
   through moto's serializer.
2. **``Table.query``** sorts the whole table, filters it, sorts the matches again with
   Python-level comparisons, and deep-copies every item it returns. For the Query shape a
   broadcast sends — a global secondary index that projects ALL attributes, equality on its
   one hash key, no sort key condition, no filter or projection expression — the fast path
   runs the same steps in the same order (same sort key, same 1 MB page rule, same
   ``LastEvaluatedKey``, moto's own helpers for the start key) without the two
   whole-table passes and the copies: moto copies so that a projection cannot change the
   stored items, and with no projection nothing changes them. Any other Query goes to moto.
3. **``dynamo_to_dict``** converts each attribute with a chain of ``isinstance`` checks; a
   string or number attribute (``{"S": str}``, ``{"N": str}``) converts to itself, so those
   are done directly and everything else is left to moto.

Also, once: moto lists a handler class's methods on every request (``inspect.getmembers``);
the list is kept per class instead.

Installed by ``moto_adapter.speedups`` (only on the moto releases they were proven on),
each replacement still runs moto's own code unless the context variable it is given is set:
``moto_adapter.fast()``, which the gateway's embedded DynamoDB enters around its own
requests. Nothing else in the process sees a difference.

``tests/test_motofast.py`` checks each against moto's own path on randomised tables.
"""

from __future__ import annotations

import contextvars
import functools
import json
import secrets
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

__all__ = ["install"]

#: Operations whose results are already DynamoDB's wire form once ``dynamo_to_dict`` ran.
_FAST_OPERATIONS = {"Query", "Scan", "GetItem", "PutItem", "DeleteItem", "UpdateItem"}
#: moto's originals, saved by :func:`install`:
#: (execute_result, Table.query, dynamo_to_dict, method_names_from_class).
_originals: tuple[Any, Any, Any, Any] | None = None
#: Set while a request of a server that opted in runs (``moto_adapter.fast``).
_enabled: contextvars.ContextVar[bool] | None = None
#: moto's ``DynamoType`` and ``LimitedSizeDict``, imported by :func:`install`.
_DynamoType: Any = None
_LimitedSizeDict: Any = None


def install(enabled: contextvars.ContextVar[bool]) -> None:
    """Put the fast paths in moto's DynamoDB, acting only while ``enabled`` is set (once)."""
    global _originals, _enabled, _DynamoType, _LimitedSizeDict
    if _originals is not None:
        return
    import moto.core.responses
    from moto.dynamodb import responses
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.table import Table

    _enabled = enabled
    _DynamoType, _LimitedSizeDict = DynamoType, LimitedSizeDict
    _originals = (
        responses.DynamoResult.execute_result,
        Table.query,
        responses.dynamo_to_dict,  # type: ignore[attr-defined]
        moto.core.responses.method_names_from_class,  # type: ignore[attr-defined]
    )
    responses.DynamoResult.execute_result = _fast_execute_result  # type: ignore[method-assign]
    Table.query = _fast_table_query  # type: ignore[method-assign]
    responses.dynamo_to_dict = _fast_dynamo_to_dict  # type: ignore[attr-defined]
    # 4. Every request listed its handler class's methods with inspect.getmembers (about
    # 10% of a PutItem); a class's methods do not change, so the list is kept per class.
    moto.core.responses.method_names_from_class = _method_names  # type: ignore[attr-defined,assignment]


def _on() -> bool:
    return _enabled is not None and _enabled.get()


@functools.cache
def _cached_method_names(cls: Any) -> Any:
    assert _originals is not None
    return _originals[3](cls)


def _method_names(cls: Any) -> Any:
    assert _originals is not None
    return _cached_method_names(cls) if _on() else _originals[3](cls)


# --- 1. the response serializer -----------------------------------------------------------


def _fast_execute_result(self: Any, context: Any) -> Any:
    assert _originals is not None
    if not _on():
        return _originals[0](self, context)
    result = self.result
    operation = context.operation_model
    if operation.name in _FAST_OPERATIONS and isinstance(result, dict):
        # moto's serializer writes the output shape's members and ignores anything else
        # (DeleteItem's result carries a stray ``ConsumedCapacityUnits``); so does this.
        members = operation.output_shape.members
        shaped = {k: v for k, v in result.items() if k in members and v is not None}
        try:
            body = json.dumps(shaped, separators=(",", ":"))
        except (TypeError, ValueError):
            return _originals[0](self, context)
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "server": "amazon.com",
            "date": formatdate(usegmt=True),
            "x-amzn-requestid": secrets.token_urlsafe(39)[:52],
        }
        return 200, headers, body
    return _originals[0](self, context)


# --- 2. Table.query for a room ------------------------------------------------------------


def _fast_table_query(
    self: Any,
    hash_key: Any,
    range_comparison: str | None,
    range_objs: list[Any],
    limit: int,
    exclusive_start_key: dict[str, Any],
    scan_index_forward: bool,
    projection_expressions: list[list[str]] | None,
    index_name: str | None = None,
    consistent_read: bool = False,
    filter_expression: Any = None,
    hash_key_conditions: list[tuple[str, Any]] | None = None,
    range_key_conditions: list[tuple[str, str, list[Any]]] | None = None,
    **filter_kwargs: Any,
) -> tuple[list[Any], int, dict[str, Any] | None]:
    from moto.dynamodb.comparisons import OpDefault
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

    assert _originals is not None
    index = _plain_global_index(self, index_name) if _on() else None
    if (
        index is None
        or range_comparison
        or range_key_conditions
        or filter_kwargs
        or projection_expressions
        or consistent_read
        or not (filter_expression is None or isinstance(filter_expression, OpDefault))
        or not hash_key_conditions
        or len(hash_key_conditions) != 1
    ):
        return _originals[1](  # type: ignore[no-any-return]
            self,
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            projection_expressions,
            index_name,
            consistent_read,
            filter_expression,
            hash_key_conditions=hash_key_conditions,
            range_key_conditions=range_key_conditions,
            **filter_kwargs,
        )
    # The same key attributes moto's Table.query computes for an index without a sort key.
    (attribute, expected) = hash_key_conditions[0]
    hash_attrs = [attribute, self.hash_key_attr]
    range_attrs: list[str | None] = [self.range_key_attr or self.hash_key_attr, self.range_key_attr]
    sort_attrs = self._generate_attr_to_sort_by(hash_attrs, range_attrs)

    wanted = (expected.type, _cast(expected))
    matches = []
    for item in _stored_items(self):
        value = item.attrs.get(attribute) if isinstance(item, Item) else None
        # moto: ``if not value or value != expected``, where != compares type and cast value.
        if value is None or (value.type, _cast(value)) != wanted:
            continue
        matches.append(item)
    # moto sorts by tuples of DynamoType, which compare by ``cast_value``; the key
    # attributes of an index have one declared type, so the tuples of cast values sort the
    # same way, computed once per item instead of once per comparison.
    matches.sort(key=lambda item: tuple(_cast(item.attrs[name]) for name in sort_attrs))
    if scan_index_forward is False:
        matches.reverse()

    results: list[Any] = []
    result_size = 0
    last_evaluated_key = None
    before_start = exclusive_start_key is not None
    for item in matches:
        if before_start:
            if self._item_comes_before_dct(
                item, exclusive_start_key, hash_attrs, range_attrs, scan_index_forward
            ):
                continue
            before_start = False
        size = _item_size(item)
        if len(results) == limit or result_size + size > RESULT_SIZE_LIMIT:
            last_evaluated_key = self._get_last_evaluated_key(results[-1], index_name)
            break
        results.append(item)
        result_size += size
    # No copies: with ALL projected and no projection expression, nothing downstream
    # changes these items (the response converts them to new dicts).
    return results, len(results), last_evaluated_key


def _cast(value: Any) -> Any:
    """``DynamoType.cast_value``, without its chain of type checks for a string."""
    return value.value if value.type == "S" and type(value.value) is str else value.cast_value


def _item_size(item: Any) -> int:
    """``Item.size()``: names' and values' UTF-8 bytes (a number counts its digits)."""
    total = 0
    for name, value in item.attrs.items():
        total += len(name.encode("utf-8"))
        kind, raw = value.type, value.value
        if kind == "S" and type(raw) is str:
            total += len(raw.encode("utf-8"))
        elif kind == "N" and type(raw) is str:
            total += len(raw)
        else:
            total += value.size()
    return total


def _plain_global_index(table: Any, index_name: str | None) -> Any:
    """The named GSI if it projects ALL and its key is one hash attribute; else ``None``."""
    from moto.dynamodb.models.table import GlobalSecondaryIndex

    if not index_name:
        return None
    for index in table.global_indexes or []:
        if index.name != index_name:
            continue
        plain = (
            isinstance(index, GlobalSecondaryIndex)
            and (index.projection or {}).get("ProjectionType") == "ALL"
            and [key["KeyType"] for key in index.schema] == ["HASH"]
        )
        return index if plain else None
    return None


def _stored_items(table: Any) -> Iterator[Any]:
    """Every item of the table, in no particular order (moto's ``all_items`` sorts them)."""
    if table.range_key_attr:
        for items in table.items.values():
            yield from items.values()
    else:
        yield from table.items.values()


# --- 3. dynamo_to_dict --------------------------------------------------------------------


def _fast_dynamo_to_dict(obj: Any) -> Any:
    assert _originals is not None
    return _to_dict(obj) if _on() else _originals[2](obj)


def _to_dict(obj: Any) -> Any:
    assert _originals is not None
    kind = type(obj)
    if kind is dict or kind is _LimitedSizeDict:  # an item's attributes
        return {key: _to_dict(value) for key, value in obj.items()}
    if kind is list:
        return [_to_dict(value) for value in obj]
    if kind is _DynamoType and obj.type in ("S", "N") and type(obj.value) is str:
        return {obj.type: obj.value}
    return _originals[2](obj)
