"""The shapes of a template's values: intrinsic function calls, ``Fn::Sub`` variables, scalars.

Small pure helpers shared by the resolver (``intrinsics``), the condition evaluator and the
dependency checks, so that each reads a function call the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

from wsrelay.local.templates.source import Where

__all__ = [
    "NO_VALUE",
    "SUB_VARIABLE",
    "function_of",
    "kind_of",
    "split_get_att",
    "stringify",
    "sub_variables",
]


class _NoValue:
    """``Ref: AWS::NoValue``: the key or list item holding it is removed."""

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Final = _NoValue()

#: ``${Name}``, ``${Res.Attr}`` or ``${!Literal}`` in an ``Fn::Sub`` string.
SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]*)\}")


def function_of(node: Any) -> str | None:
    """The intrinsic function a node calls (``Ref``, ``Fn::Sub`` …), or ``None``."""
    if isinstance(node, dict) and len(node) == 1:
        (key,) = node
        if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
            return str(key)
    return None


def stringify(value: Any, where: Where, what: str) -> str:
    """A scalar as CloudFormation turns it into a string: ``5`` → ``"5"``, ``True`` → ``"true"``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise where.error(f"{what} must be a string, not {kind_of(value)}")


def split_get_att(value: Any, where: Where) -> tuple[Any, Any]:
    """``Fn::GetAtt``'s two forms: ``[Res, Attr]`` and ``"Res.Attr"`` (the attribute may hold dots)."""
    if isinstance(value, str) and "." in value:
        logical_id, attribute = value.split(".", 1)
        return logical_id, attribute
    if isinstance(value, list) and len(value) == 2:
        return value[0], value[1]
    raise where.error(
        f"Fn::GetAtt takes [LogicalId, Attribute] or 'LogicalId.Attribute', not {value!r}"
    )


def sub_variables(text: str) -> Iterator[str]:
    """The variables an ``Fn::Sub`` string names (``${!Literal}`` is not a variable)."""
    for match in SUB_VARIABLE.finditer(text):
        if not match.group(1):
            yield match.group(2)


def kind_of(value: Any) -> str:
    """``a mapping``, ``a list``, or the type's name: for messages."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
