"""The template's ``Conditions``: evaluated once each, on demand, as CloudFormation does.

A condition is ``Fn::Equals``, ``Fn::And``, ``Fn::Or``, ``Fn::Not`` or ``Condition: Name``
(another condition), over values that may use ``Ref`` to parameters, ``Fn::FindInMap``,
``Fn::Sub`` … (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-conditions.html).
``Fn::And`` and ``Fn::Or`` take 2 to 10 conditions. A condition that refers back to itself,
directly or through others, is an error naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wsrelay.local.templates.source import Where
from wsrelay.local.templates.syntax import function_of, stringify

__all__ = ["Conditions"]

#: Resolves a value inside a condition (``Ref`` to a parameter, ``Fn::Sub`` …).
Resolve = Callable[[Any, Where], Any]


class Conditions:
    """The ``Conditions`` section of one template, with parameters already decided.

    Args:
        declared: the ``Conditions`` section (name → condition function).
        resolve: resolves the values the conditions compare.
        where: makes the :class:`Where` of a condition (``Conditions.IsProd``).
    """

    def __init__(
        self, declared: Mapping[str, Any], resolve: Resolve, where: Callable[[str], Where]
    ) -> None:
        self._declared = dict(declared)
        self._resolve = resolve
        self._where = where
        self._values: dict[str, bool] = {}
        self._evaluating: list[str] = []

    def __contains__(self, name: object) -> bool:
        return name in self._declared

    def value(self, name: str, where: Where) -> bool:
        """The value of condition ``name``, referred to from ``where``.

        Raises:
            TemplateError: no such condition, a circular one, or a malformed one.
        """
        if name in self._values:
            return self._values[name]
        if name not in self._declared:
            known = ", ".join(sorted(self._declared)) or "none"
            raise where.error(
                f"condition {name} is not in the Conditions section (it has: {known})"
            )
        if name in self._evaluating:
            cycle = " -> ".join([*self._evaluating[self._evaluating.index(name) :], name])
            raise self._where(name).error(f"circular conditions: {cycle}")
        self._evaluating.append(name)
        try:
            result = self.evaluate(self._declared[name], self._where(name))
        finally:
            self._evaluating.pop()
        self._values[name] = result
        return result

    def evaluate(self, node: Any, where: Where) -> bool:
        """The value of one condition function."""
        kind = function_of(node)
        if kind is None and isinstance(node, dict) and set(node) == {"Condition"}:
            return self.value(str(node["Condition"]), where)
        args = node[kind] if kind else None
        if kind == "Fn::Equals":
            if not (isinstance(args, list) and len(args) == 2):
                raise where.error("Fn::Equals takes [value, value]")
            # CloudFormation compares the values as strings: !Equals [!Ref Count, 1] holds
            # for the parameter value "1".
            left, right = (self._scalar(self._resolve(a, where), where) for a in args)
            return bool(left == right)
        if kind in ("Fn::And", "Fn::Or"):
            if not (isinstance(args, list) and 2 <= len(args) <= 10):
                raise where.error(f"{kind} takes a list of 2 to 10 conditions")
            values = (self.evaluate(item, where) for item in args)
            return all(values) if kind == "Fn::And" else any(values)
        if kind == "Fn::Not":
            if not (isinstance(args, list) and len(args) == 1):
                raise where.error("Fn::Not takes a list of one condition")
            return not self.evaluate(args[0], where)
        raise where.error(
            f"a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition, not {node!r}"
        )

    @staticmethod
    def _scalar(value: Any, where: Where) -> Any:
        if isinstance(value, list):
            return [stringify(v, where, "an Fn::Equals value") for v in value]
        return stringify(value, where, "an Fn::Equals value")
