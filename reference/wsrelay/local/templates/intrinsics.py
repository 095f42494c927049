"""CloudFormation's intrinsic functions, resolved as CloudFormation resolves them.

:func:`resolve` walks a template value and replaces each intrinsic function with its value:
``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::If``,
``Fn::FindInMap``, ``Fn::Base64``, ``Fn::GetAZs``. ``Ref: AWS::NoValue`` (directly or
through ``Fn::If``) removes the key or list item that holds it. What a name refers to
(parameters, pseudo parameters, resources, conditions) is the :class:`Scope`'s business:
this module only knows the functions' rules
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, Protocol

from wsrelay.local.templates.source import Where
from wsrelay.local.templates.syntax import (
    NO_VALUE,
    SUB_VARIABLE,
    function_of,
    kind_of,
    split_get_att,
    stringify,
)

__all__ = ["CONDITION_FUNCTIONS", "Scope", "resolve"]


#: Functions allowed only in ``Conditions`` (and in a condition's own functions).
CONDITION_FUNCTIONS = ("Fn::And", "Fn::Equals", "Fn::Not", "Fn::Or")

#: Functions the local gateway cannot resolve, and what to do instead.
_REFUSED = {
    "Fn::ImportValue": "reads an export of another stack, which the local gateway has not "
    "got: put the value in a parameter and pass it with --parameter-overrides",
    "Fn::Cidr": "computes address blocks for VPC networking, which the local gateway does "
    "not emulate: put the block in a parameter",
    "Fn::Transform": "runs a CloudFormation macro, which only CloudFormation can run: "
    "expand it before serving, or write the value out",
    "Fn::GetStackOutput": "reads an output of another stack, which the local gateway has "
    "not got: put the value in a parameter and pass it with --parameter-overrides",
}


class Scope(Protocol):
    """What the names in a template mean: the stack being resolved."""

    mappings: Mapping[str, Any]
    region: str

    def ref(self, name: str, where: Where) -> Any:
        """``Ref``: a parameter, a pseudo parameter or a resource."""

    def get_att(self, logical_id: str, attribute: str, where: Where) -> Any:
        """``Fn::GetAtt``: a resource's attribute."""

    def condition(self, name: str, where: Where) -> bool:
        """A condition's value (``Fn::If``)."""


def resolve(node: Any, scope: Scope, where: Where) -> Any:
    """A template value with every intrinsic function replaced by its value.

    Args:
        node: a value from the template (a property, an output's value …).
        scope: what names mean.
        where: the resource (or output) it belongs to, for messages.

    Returns:
        Plain JSON-like data; :data:`NO_VALUE` when the whole value is ``AWS::NoValue``.

    Raises:
        TemplateError: an unknown or refused function, a bad argument, an unknown name.
    """
    kind = function_of(node)
    if kind is not None:
        return _call(kind, node[kind], scope, where.at(node))
    if isinstance(node, dict):
        resolved = {str(k): resolve(v, scope, where) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}
    if isinstance(node, list):
        items = [resolve(item, scope, where) for item in node]
        return [item for item in items if item is not NO_VALUE]
    if isinstance(node, str):
        return str(node)
    return node


def _call(kind: str, args: Any, scope: Scope, where: Where) -> Any:
    if kind in _REFUSED:
        raise where.error(f"{kind} {_REFUSED[kind]}")
    if kind in CONDITION_FUNCTIONS:
        raise where.error(
            f"{kind} can be used only in the Conditions section (then Fn::If a condition)"
        )
    handler = _FUNCTIONS.get(kind)
    if handler is None:
        raise where.error(
            f"{kind} is not a CloudFormation intrinsic function the local gateway knows"
        )
    return handler(args, scope, where)


def _ref(args: Any, scope: Scope, where: Where) -> Any:
    # Ref takes a name, never a function: "You can't use any functions in the Ref function."
    if not isinstance(args, str):
        raise where.error(f"Ref takes the name of a parameter or resource, not {kind_of(args)}")
    if args == "AWS::NoValue":
        return NO_VALUE
    return scope.ref(str(args), where)


def _get_att(args: Any, scope: Scope, where: Where) -> Any:
    logical_id, attribute = split_get_att(args, where)
    # The attribute name may come from a Ref (list form only), the logical id never.
    attribute = resolve(attribute, scope, where)
    if not isinstance(logical_id, str) or not isinstance(attribute, str):
        raise where.error(f"Fn::GetAtt takes a logical id and an attribute name, not {args!r}")
    return scope.get_att(str(logical_id), attribute, where)


def _sub(args: Any, scope: Scope, where: Where) -> str:
    if isinstance(args, list) and len(args) == 2 and isinstance(args[1], dict):
        text, local = args[0], {str(k): v for k, v in args[1].items()}
    elif isinstance(args, str):
        text, local = args, {}
    else:
        raise where.error("Fn::Sub takes a string, or [string, {Name: value, ...}]")
    if not isinstance(text, str):
        raise where.error(f"Fn::Sub's first argument must be a string, not {kind_of(text)}")

    def value_of(match: re.Match[str]) -> str:
        if match.group(1):  # ${!Literal} is written out as ${Literal}
            return "${" + match.group(2) + "}"
        name = match.group(2)
        if name in local:
            value = resolve(local[name], scope, where)
        elif "." in name:
            logical_id, attribute = name.split(".", 1)
            value = scope.get_att(logical_id, attribute, where)
        else:
            value = scope.ref(name, where)
        return stringify(value, where, f"Fn::Sub variable ${{{name}}}")

    return SUB_VARIABLE.sub(value_of, text)


def _join(args: Any, scope: Scope, where: Where) -> str:
    if not (isinstance(args, list) and len(args) == 2 and isinstance(args[0], str)):
        raise where.error("Fn::Join takes [delimiter, [values ...]]")
    values = resolve(args[1], scope, where)
    if not isinstance(values, list):
        raise where.error(f"Fn::Join's second argument must be a list, not {kind_of(values)}")
    return str(args[0]).join(stringify(v, where, "an Fn::Join value") for v in values)


def _select(args: Any, scope: Scope, where: Where) -> Any:
    if not (isinstance(args, list) and len(args) == 2):
        raise where.error("Fn::Select takes [index, [values ...]]")
    index = resolve(args[0], scope, where)
    values = resolve(args[1], scope, where)
    try:
        position = int(index)
    except (TypeError, ValueError):
        raise where.error(f"Fn::Select's index must be a number, not {index!r}") from None
    if not isinstance(values, list):
        raise where.error(f"Fn::Select's second argument must be a list, not {kind_of(values)}")
    if not 0 <= position < len(values):
        raise where.error(
            f"Fn::Select index {position} is out of range for a list of {len(values)}"
        )
    return values[position]


def _split(args: Any, scope: Scope, where: Where) -> list[str]:
    if not (isinstance(args, list) and len(args) == 2 and isinstance(args[0], str) and args[0]):
        raise where.error("Fn::Split takes [delimiter, string] with a non-empty delimiter")
    text = resolve(args[1], scope, where)
    return stringify(text, where, "Fn::Split's string").split(str(args[0]))


def _if(args: Any, scope: Scope, where: Where) -> Any:
    if not (isinstance(args, list) and len(args) == 3 and isinstance(args[0], str)):
        raise where.error("Fn::If takes [ConditionName, value if true, value if false]")
    chosen = args[1] if scope.condition(str(args[0]), where) else args[2]
    return resolve(chosen, scope, where)


def _find_in_map(args: Any, scope: Scope, where: Where) -> Any:
    if not (isinstance(args, list) and len(args) == 3):
        raise where.error("Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]")
    keys = [stringify(resolve(a, scope, where), where, "an Fn::FindInMap key") for a in args]
    node: Any = scope.mappings
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            path = ".".join(keys[: depth + 1])
            raise where.error(f"Fn::FindInMap: Mappings has no {path}")
        node = node[key]
    return resolve(node, scope, where)


def _base64(args: Any, scope: Scope, where: Where) -> str:
    text = stringify(resolve(args, scope, where), where, "Fn::Base64's value")
    return base64.b64encode(text.encode()).decode()


def _get_azs(args: Any, scope: Scope, where: Where) -> list[str]:
    # "" means the stack's region. Three zones a, b, c: every commercial region has them
    # (the real list depends on the account; it is a stable stand-in here).
    region = resolve(args, scope, where) or scope.region
    return [f"{stringify(region, where, 'Fn::GetAZs region')}{zone}" for zone in "abc"]


_FUNCTIONS = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::FindInMap": _find_in_map,
    "Fn::Base64": _base64,
    "Fn::GetAZs": _get_azs,
}
