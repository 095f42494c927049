"""One stack of a template: its resources, named and resolved on demand, as CloudFormation would.

:class:`Stack` is the :class:`~wsrelay.local.templates.intrinsics.Scope` the intrinsic
functions resolve in: ``Ref`` gives a parameter, a pseudo parameter or a resource's ``Ref``
value; ``Fn::GetAtt`` a resource's attribute; ``Fn::If`` a condition. A resource whose
``Condition`` is false is not created. Before anything is resolved, every reference is
checked as CloudFormation checks a template: a ``Ref``, ``Fn::GetAtt`` or ``DependsOn`` to
a name the template does not have, and a circular dependency between resources, are errors
naming the resource.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from wsrelay.local.templates.conditions import Conditions
from wsrelay.local.templates.dependencies import check_cycles, check_references, unknown_name
from wsrelay.local.templates.intrinsics import resolve
from wsrelay.local.templates.naming import EMULATED_TYPES, partition_of, url_suffix_of
from wsrelay.local.templates.parameters import ParameterValue
from wsrelay.local.templates.return_values import RULES, ResourceView, physical_name
from wsrelay.local.templates.source import Source, Where
from wsrelay.local.templates.syntax import NO_VALUE

__all__ = ["Stack"]


class Stack:
    """A template's resources in one stack, account and region.

    Args:
        source: the template as read (for lines and the types as written).
        template: the template to resolve (after the SAM transform, if any).
        parameters: every parameter's value.
        stack_name, region, account_id: the pseudo parameters.

    Raises:
        TemplateError: a reference to an unknown name, or a circular dependency.
    """

    def __init__(
        self,
        source: Source,
        template: Mapping[str, Any],
        parameters: Mapping[str, ParameterValue],
        *,
        stack_name: str,
        region: str,
        account_id: str,
    ) -> None:
        self.source = source
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.parameters = dict(parameters)
        self.mappings: Mapping[str, Any] = template.get("Mappings") or {}
        self.outputs_section: Mapping[str, Any] = template.get("Outputs") or {}
        self.warnings: list[str] = []
        partition = partition_of(region)
        stack_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"wsrelay:{region}:{account_id}:{stack_name}")
        self.pseudo: dict[str, Any] = {
            "AWS::AccountId": account_id,
            "AWS::NotificationARNs": [],
            "AWS::Partition": partition,
            "AWS::Region": region,
            "AWS::StackId": f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/{stack_uuid}",
            "AWS::StackName": stack_name,
            "AWS::URLSuffix": url_suffix_of(region),
        }
        self.conditions = Conditions(
            template.get("Conditions") or {},
            lambda node, where: resolve(node, self, where),
            lambda name: source.where(f"Conditions.{name}"),
        )
        self.declared: dict[str, dict[str, Any]] = {}
        for logical_id, resource in (template.get("Resources") or {}).items():
            if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
                raise source.where(str(logical_id)).error(
                    "a resource must be a mapping with a Type"
                )
            self.declared[str(logical_id)] = resource
        depends = check_references(
            self.declared, [*self.parameters, *self.pseudo], self.outputs_section, self._where_any
        )
        check_cycles(depends, self._where_any)
        self.resources: dict[str, dict[str, Any]] = {}
        self.excluded: dict[str, str] = {}
        for logical_id, resource in self.declared.items():
            condition = resource.get("Condition")
            if condition is not None and not self.conditions.value(
                str(condition), self.where(logical_id)
            ):
                self.excluded[logical_id] = str(condition)
            else:
                self.resources[logical_id] = resource
        self._props: dict[tuple[str, str], Any] = {}
        self._names: dict[str, str] = {}
        self._resolving: list[tuple[str, str]] = []

    # -- what the template says ------------------------------------------------------

    def type_of(self, logical_id: str) -> str:
        """A resource's type (after the SAM transform)."""
        return str(self.declared[logical_id]["Type"])

    def where(self, logical_id: str) -> Where:
        """The :class:`Where` of a resource."""
        return self.source.where(logical_id, self.declared.get(logical_id, {}).get("Type"))

    def of_type(self, *types: str) -> list[str]:
        """The logical ids of the created resources of these types, in template order."""
        return [lid for lid, r in self.resources.items() if r["Type"] in types]

    # -- resolution --------------------------------------------------------------------

    def resolve(self, node: Any, where: Where) -> Any:
        """Resolve a value in this stack."""
        return resolve(node, self, where)

    def prop(self, logical_id: str, key: str) -> Any:
        """One resolved property of a resource, or ``None`` when absent (or ``AWS::NoValue``)."""
        memo = (logical_id, key)
        if memo in self._props:
            return self._props[memo]
        if memo in self._resolving:
            cycle = " -> ".join(f"{lid}.{k}" for lid, k in [*self._resolving, memo])
            raise self.where(logical_id).error(f"circular reference: {cycle}")
        properties = self.resources[logical_id].get("Properties") or {}
        if not isinstance(properties, dict):
            raise self.where(logical_id).error("Properties must be a mapping")
        self._resolving.append(memo)
        try:
            value = (
                self.resolve(properties[key], self.where(logical_id)) if key in properties else None
            )
        finally:
            self._resolving.pop()
        value = None if value is NO_VALUE else value
        self._props[memo] = value
        return value

    def properties(self, logical_id: str) -> dict[str, Any]:
        """A resource's properties, every intrinsic resolved."""
        properties = self.resources[logical_id].get("Properties") or {}
        if not isinstance(properties, dict):
            raise self.where(logical_id).error("Properties must be a mapping")
        resolved = {str(key): self.prop(logical_id, str(key)) for key in properties}
        return {key: value for key, value in resolved.items() if value is not None}

    def name(self, logical_id: str) -> str:
        """A resource's physical name or id (explicit, or made as CloudFormation makes it)."""
        if logical_id not in self._names:
            self._names[logical_id] = physical_name(
                self.stack_name,
                logical_id,
                self.type_of(logical_id),
                lambda key: self.prop(logical_id, key),
            )
        return self._names[logical_id]

    def view(self, logical_id: str) -> ResourceView:
        """What naming rules need to know about a resource."""
        return ResourceView(
            logical_id,
            self.stack_name,
            self.region,
            self.account_id,
            self.name(logical_id),
            lambda key: self.prop(logical_id, key),
        )

    # -- Scope ---------------------------------------------------------------------------

    def ref(self, name: str, where: Where) -> Any:
        """``Ref``: a pseudo parameter, a parameter, or a resource's ``Ref`` value."""
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        self._created(name, where, "Ref")
        rule = RULES.get(self.type_of(name))
        if rule is None:
            self._warn_once(
                name,
                f"type {self.type_of(name)} is not one the local gateway knows: Ref gives a placeholder ({self.name(name)})",
            )
            return self.name(name)
        return rule.ref(self.view(name)) if rule.ref else self.name(name)

    def get_att(self, logical_id: str, attribute: str, where: Where) -> Any:
        """``Fn::GetAtt``: an attribute of a created resource."""
        self._created(logical_id, where, "Fn::GetAtt")
        type_ = self.type_of(logical_id)
        rule = RULES.get(type_)
        if rule is not None and attribute in rule.attributes:
            if (
                attribute == "StreamArn"
                and type_ == "AWS::DynamoDB::Table"
                and not self.prop(logical_id, "StreamSpecification")
            ):
                raise where.error(
                    f"Fn::GetAtt {logical_id}.StreamArn: the table has no StreamSpecification, so it has no stream"
                )
            return rule.attributes[attribute](self.view(logical_id))
        if type_ in EMULATED_TYPES:
            known = ", ".join(sorted(rule.attributes)) if rule else "none"
            raise where.error(
                f"Fn::GetAtt {logical_id}.{attribute}: {type_} has no attribute {attribute} (it has: {known})"
            )
        placeholder = f"wsrelay-placeholder-{logical_id}-{attribute}"
        self._warn_once(
            f"{logical_id}.{attribute}",
            f"Fn::GetAtt {logical_id}.{attribute}: the local gateway does not know this attribute of {type_}: it gives the placeholder {placeholder}",
        )
        return placeholder

    def condition(self, name: str, where: Where) -> bool:
        """A condition's value."""
        return self.conditions.value(name, where)

    # -- checks ----------------------------------------------------------------------------

    def _created(self, logical_id: str, where: Where, function: str) -> None:
        if logical_id in self.excluded:
            raise where.error(
                f"{function} {logical_id}: that resource is not created (its Condition "
                f"{self.excluded[logical_id]} is false): guard the reference with Fn::If {self.excluded[logical_id]}"
            )
        if logical_id not in self.resources:
            names = list(self.declared) if function != "Ref" else [*self.declared, *self.parameters]
            raise where.error(
                unknown_name(function, logical_id, names, resources_only=function != "Ref")
            )

    def _where_any(self, name: str) -> Where:
        return self.where(name) if name in self.declared else self.source.where(name)

    def _warn_once(self, key: str, message: str) -> None:
        line = self.where(key.split(".", 1)[0]).note(message)
        if line not in self.warnings:
            self.warnings.append(line)
