"""Template parameters: each one's value, checked against its constraints as CloudFormation does.

A parameter's value is the caller's override or else its ``Default``; one with neither, or an
override of a parameter the template does not declare, is an error naming it. The checks
follow the Parameters section reference
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html):

- ``String``: ``AllowedValues``, ``AllowedPattern`` (it must match the *whole* value),
  ``MinLength`` / ``MaxLength``.
- ``Number``: the value must be a number (``MinValue`` / ``MaxValue``), yet ``Ref`` gives it
  as a string.
- ``CommaDelimitedList`` and ``List<Number>`` (and ``List<AWS::EC2::…>``): split at commas,
  each member trimmed of spaces; ``AllowedPattern`` and ``AllowedValues`` apply to each member.
- ``AWS::SSM::Parameter::*``: CloudFormation reads the value from Parameter Store, which
  the local gateway has not got, so the caller must give the value itself.

``AllowedPattern`` is a Java regular expression in CloudFormation
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-regexes.html); Python's
``re`` reads the common subset the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from wsrelay.local.templates.source import Where
from wsrelay.local.templates.syntax import stringify

__all__ = ["ParameterValue", "resolve_parameters"]

#: What ``Ref`` gives for a parameter: a string, or a list of strings for list types.
ParameterValue = str | list[str]


def resolve_parameters(
    declared: Mapping[str, Any],
    overrides: Mapping[str, str] | None,
    where: Callable[[str], Where],
    *,
    option: str = "--parameter-overrides",
) -> dict[str, ParameterValue]:
    """Every declared parameter's value.

    Args:
        declared: the template's ``Parameters`` section.
        overrides: values given by the caller (``--parameter-overrides Key=Value``).
        where: the :class:`Where` of a parameter (``Parameters.Stage``).
        option: how the caller passes values, for messages.

    Returns:
        Parameter name → its value as ``Ref`` gives it.

    Raises:
        TemplateError: an override of an undeclared parameter, a parameter without a value,
            or a value that fails a constraint.
    """
    given = dict(overrides or {})
    for name in sorted(set(given) - set(declared)):
        known = ", ".join(sorted(declared)) or "none"
        raise where(f"Parameters.{name}").error(
            f"{option} gives {name}, which the template does not declare (it declares: {known})"
        )
    values: dict[str, ParameterValue] = {}
    for name, spec in declared.items():
        here = where(f"Parameters.{name}")
        if not isinstance(spec, dict):
            raise here.error("a parameter must be a mapping with a Type")
        values[str(name)] = _value(str(name), spec, given.get(str(name)), here, option)
    return values


def _value(
    name: str, spec: Mapping[str, Any], given: str | None, here: Where, option: str
) -> ParameterValue:
    kind = str(spec.get("Type", ""))
    if not kind:
        raise here.error("has no Type: give it one (String, Number, CommaDelimitedList ...)")
    if given is None and kind.startswith("AWS::SSM::Parameter::"):
        raise here.error(
            f"Type {kind} reads {spec.get('Default', 'its value')!r} from SSM Parameter Store, "
            f"which the local gateway has not got: pass the value itself with {option} {name}=VALUE"
        )
    if given is None and "Default" not in spec:
        raise here.error(
            f"has no Default and no value was given: pass one with {option} {name}=VALUE"
        )
    raw = given if given is not None else spec["Default"]
    text = (
        ",".join(stringify(v, here, "a default") for v in raw)
        if isinstance(raw, list)
        else stringify(raw, here, "its value")
    )
    is_list = kind == "CommaDelimitedList" or "List<" in kind
    members = [m.strip() for m in text.split(",")] if is_list else [text]
    numeric = kind in ("Number", "List<Number>")
    for member in members:
        _check(name, spec, member, numeric, here)
    return members if is_list else text


def _check(name: str, spec: Mapping[str, Any], value: str, numeric: bool, here: Where) -> None:
    because = f" ({spec['ConstraintDescription']})" if spec.get("ConstraintDescription") else ""
    allowed = spec.get("AllowedValues")
    if isinstance(allowed, list):
        choices = [stringify(a, here, "an allowed value") for a in allowed]
        if value not in choices:
            raise here.error(f"value {value!r} is not one of its AllowedValues {choices}{because}")
    if numeric:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isnan(number) or math.isinf(number):
            raise here.error(f"value {value!r} is not a number, as its Type requires")
        for key, below in (("MinValue", True), ("MaxValue", False)):
            if key in spec and (number < float(spec[key]) if below else number > float(spec[key])):
                raise here.error(f"value {value} is outside its {key} {spec[key]}{because}")
        return
    pattern = spec.get("AllowedPattern")
    if pattern is not None:
        try:
            compiled = re.compile(str(pattern))
        except re.error as exc:
            raise here.error(
                f"AllowedPattern {pattern!r} is not a regular expression: {exc}"
            ) from None
        # The pattern must match the entire value, not a part of it.
        if not compiled.fullmatch(value):
            raise here.error(
                f"value {value!r} does not match its AllowedPattern {pattern!r}{because}"
            )
    for key, too_short in (("MinLength", True), ("MaxLength", False)):
        if key in spec and (
            len(value) < int(spec[key]) if too_short else len(value) > int(spec[key])
        ):
            raise here.error(
                f"value {value!r} has {len(value)} characters, outside its {key} {spec[key]}{because}"
            )
