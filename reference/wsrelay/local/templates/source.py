"""Reading a template file, and saying where in it something is wrong.

A template is read with cfn-lint's decoder (``cfnlint.decode``): it reads YAML with the
short-form tags (``!Ref``, ``!Sub``, ``!GetAtt`` …) and JSON alike, and keeps each node's
line, which every :class:`~wsrelay.local.templates.model.TemplateError` names. This module
is the one place that touches cfn-lint's decoder, so a change in it shows up here (and in
the canary test ``tests/templates/test_source.py``), not all over the reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wsrelay.local.templates.model import TemplateError

__all__ = ["Source", "Where", "line_of", "plain", "read_template"]


def line_of(node: Any) -> int | None:
    """The 1-based line a decoded node starts on, or ``None`` (a value made by the reader).

    cfn-lint's nodes carry a PyYAML-style ``start_mark`` whose ``line`` counts from 0.
    """
    mark = getattr(node, "start_mark", None)
    line = getattr(mark, "line", None)
    return line + 1 if isinstance(line, int) else None


def plain(node: Any) -> Any:
    """A copy of a decoded node made of plain ``dict``, ``list`` and ``str`` only."""
    if isinstance(node, dict):
        return {str(key): plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [plain(item) for item in node]
    if isinstance(node, str):
        return str(node)
    return node


@dataclass(frozen=True)
class Where:
    """A place in a template, for error messages and warnings.

    Attributes:
        file: the template's path, as the caller gave it.
        name: a logical id, or a label such as ``Parameters.Stage`` or ``Outputs.Url``.
        type: the resource's type as the template declares it (a SAM type stays a SAM type).
        line: the 1-based line, when known.
    """

    file: str
    name: str | None = None
    type: str | None = None
    line: int | None = None

    def at(self, node: Any) -> Where:
        """The same place, narrowed to ``node``'s own line when the decoder kept one."""
        line = line_of(node)
        return self if line is None else replace(self, line=line)

    def label(self) -> str:
        """``template.yaml: ChatFunction (AWS::Lambda::Function, line 42)``."""
        if self.name is None:
            return f"{self.file}" + (f" (line {self.line})" if self.line else "")
        details = [d for d in (self.type, f"line {self.line}" if self.line else None) if d]
        return f"{self.file}: {self.name}" + (f" ({', '.join(details)})" if details else "")

    def error(self, message: str) -> TemplateError:
        """A one-line :class:`TemplateError` for this place."""
        return TemplateError(f"{self.label()}: {' '.join(message.split())}")

    def note(self, message: str) -> str:
        """A one-line warning for this place."""
        return f"{self.label()}: {' '.join(message.split())}"


@dataclass
class Source:
    """A template as read from its file, before any transform.

    Attributes:
        path: the template file.
        display: the path as the caller gave it (what messages show).
        template: the decoded template (cfn-lint nodes: dicts, lists and strings with lines).
        lines: ``Resources``' logical ids, and ``Parameters.X`` / ``Outputs.X`` → line.
        types: each resource's type as written (``AWS::Serverless::Function`` …).
    """

    path: Path
    display: str
    template: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The template's folder: relative code paths start here, as in SAM and ``package``."""
        return self.path.resolve().parent

    def where(self, name: str | None = None, type_: str | None = None) -> Where:
        """A :class:`Where` for a logical id (or ``Parameters.X``/``Outputs.X`` label)."""
        if name is None:
            return Where(self.display)
        line = self.lines.get(name)
        if line is None and name not in self.types:
            # A resource the SAM transform made (``ChatFunctionRole``): point at the SAM
            # resource it came from, the longest logical id it starts with.
            origins = [lid for lid in self.types if name.startswith(lid)]
            if origins:
                line = self.lines.get(max(origins, key=len))
        return Where(self.display, name, self.types.get(name, type_), line)


def read_template(path: str | Path) -> Source:
    """Read a YAML or JSON template with cfn-lint's decoder.

    Args:
        path: the template file.

    Returns:
        The decoded template with the lines of its resources, parameters and outputs.

    Raises:
        TemplateError: the file is missing, is not YAML or JSON, or is not a template.
    """
    from cfnlint.decode import decode  # imported here: cfn-lint takes ~0.3 s to import

    display = str(path)
    file = Path(path)
    if not file.is_file():
        raise TemplateError(f"{display}: no such template file")
    template, problems = decode(str(file))
    if template is None or problems:
        first = problems[0] if problems else None
        line = getattr(first, "linenumber", None)
        why = " ".join(str(getattr(first, "message", "not a YAML or JSON template")).split())
        raise TemplateError(f"{display}" + (f" (line {line})" if line else "") + f": {why}")
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise TemplateError(f"{display}: not a CloudFormation template (it has no Resources)")
    source = Source(file, display, template)
    for section, prefix in (
        ("Resources", ""),
        ("Parameters", "Parameters."),
        ("Conditions", "Conditions."),
        ("Outputs", "Outputs."),
    ):
        entries = template.get(section)
        if not isinstance(entries, dict):
            continue
        for key, value in entries.items():
            # The key's own line (``ChatFunction:``) is where a reader looks first.
            line = line_of(key) or line_of(value)
            if line is not None:
                source.lines[f"{prefix}{key}"] = line
            if section == "Resources" and isinstance(value, dict):
                source.types[str(key)] = str(value.get("Type", ""))
    return source
