"""The checks CloudFormation makes on a template's references before it creates anything.

Every ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` variable and ``DependsOn`` must name something the
template has, in any branch of an ``Fn::If``; and resources may not depend on each other in
a circle ("Circular dependency between resources"). Both are errors naming the resource.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from wsrelay.local.templates.source import Where
from wsrelay.local.templates.syntax import function_of, sub_variables

__all__ = ["check_cycles", "check_references", "references", "unknown_name"]


def references(node: Any) -> Iterator[tuple[str, str, Any]]:
    """Every name a value refers to, in any branch: for the dependency checks.

    Yields ``(function, name, node)``: ``("Ref", name, …)`` and ``("Fn::GetAtt",
    logical_id, …)``, with the node that refers (for its line). An ``Fn::Sub`` variable
    not in the function's own map counts as the ``Ref`` or ``Fn::GetAtt`` it stands for.
    """
    kind = function_of(node)
    if kind == "Ref" and isinstance(node["Ref"], str):
        yield "Ref", str(node["Ref"]), node
        return
    if kind == "Fn::GetAtt":
        value = node[kind]
        target = value.split(".", 1)[0] if isinstance(value, str) else None
        if isinstance(value, list) and value and isinstance(value[0], str):
            target = value[0]
        if target is not None:
            yield kind, str(target), node
        return
    if kind == "Fn::Sub":
        args = node[kind]
        text, local = (
            (args[0], args[1]) if isinstance(args, list) and len(args) == 2 else (args, {})
        )
        local = local if isinstance(local, dict) else {}
        if isinstance(text, str):
            for name in sub_variables(text):
                if name not in local:
                    yield (
                        ("Fn::GetAtt", name.split(".", 1)[0], node)
                        if "." in name
                        else ("Ref", name, node)
                    )
        for value in local.values():
            yield from references(value)
        return
    if isinstance(node, dict):
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def unknown_name(
    function: str, name: str, candidates: Collection[str], *, resources_only: bool
) -> str:
    """``Ref Tabel: the template has no parameter or resource of that name: did you mean Table?``"""
    close = difflib.get_close_matches(name, list(candidates), n=1)
    what = "resource" if resources_only else "parameter or resource"
    hint = f": did you mean {close[0]}?" if close else ""
    return f"{function} {name}: the template has no {what} of that name{hint}"


def check_references(
    declared: Mapping[str, Mapping[str, Any]],
    names: Collection[str],
    outputs: Mapping[str, Any],
    where: Callable[[str], Where],
) -> dict[str, set[str]]:
    """Check that every reference names something; return each resource's dependencies.

    Args:
        declared: the template's resources (all of them, whatever their condition).
        names: the other names ``Ref`` may take: parameters and pseudo parameters.
        outputs: the ``Outputs`` section.
        where: the :class:`Where` of a logical id or ``Outputs.X`` label.

    Raises:
        TemplateError: a ``Ref``, ``Fn::GetAtt`` or ``DependsOn`` to an unknown name.
    """

    def check(node: Any, here: Where) -> Iterator[str]:
        for function, name, at in references(node):
            if name in declared:
                yield name
            elif function != "Ref" or (name not in names and name != "AWS::NoValue"):
                candidates = list(declared) if function != "Ref" else [*declared, *names]
                raise here.at(at).error(
                    unknown_name(function, name, candidates, resources_only=function != "Ref")
                )

    depends: dict[str, set[str]] = {}
    for logical_id, resource in declared.items():
        here = where(logical_id)
        targets = {*check(resource.get("Properties"), here), *check(resource.get("Metadata"), here)}
        depends_on = resource.get("DependsOn", [])
        for name in [depends_on] if isinstance(depends_on, str) else depends_on:
            if name not in declared:
                raise here.error(
                    unknown_name("DependsOn", str(name), declared, resources_only=True)
                )
            targets.add(str(name))
        depends[logical_id] = targets
    for name, output in outputs.items():
        list(check(output, where(f"Outputs.{name}")))
    return depends


def check_cycles(depends: Mapping[str, Collection[str]], where: Callable[[str], Where]) -> None:
    """Refuse resources that depend on each other in a circle, whichever branch is taken.

    Raises:
        TemplateError: naming the resources of the circle in order.
    """
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(depends.get(node, ())):
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                raise where(target).error(
                    f"circular dependency between resources: {' -> '.join(cycle)}: break the "
                    "circle (a name built with Fn::Sub from parameters instead of a Ref, say)"
                )
            if target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in depends:
        if node not in state:
            visit(node)
