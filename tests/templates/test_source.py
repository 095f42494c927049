"""Reading templates with cfn-lint's decoder: YAML short-form tags, JSON, line numbers.

These are also the canary for the decoder's behaviour the reader relies on (``start_mark``
lines on keys and nodes): if cfn-lint changes it, these fail first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wsrelay.local.templates import TemplateError
from wsrelay.local.templates.source import Where, line_of, plain, read_template

from .support import write

YAML = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-jobs"
      Tags:
        - Key: arn
          Value: !GetAtt Other.Arn
  Other:
    Type: AWS::SQS::Queue
Outputs:
  Url:
    Value: !Ref Queue
"""


def test_short_form_tags_become_functions(tmp_path: Path) -> None:
    """``!Sub``, ``!GetAtt`` and ``!Ref`` read as their ``Fn::`` forms (GetAtt as a list)."""
    source = read_template(write(tmp_path, YAML, "template.yaml"))
    properties = plain(source.template["Resources"]["Queue"]["Properties"])
    assert properties == {
        "QueueName": {"Fn::Sub": "${AWS::StackName}-jobs"},
        "Tags": [{"Key": "arn", "Value": {"Fn::GetAtt": ["Other", "Arn"]}}],
    }


def test_lines_of_resources_and_outputs(tmp_path: Path) -> None:
    """Each resource's and output's line is its key's line (1-based)."""
    source = read_template(write(tmp_path, YAML, "template.yaml"))
    assert source.lines == {"Queue": 3, "Other": 10, "Outputs.Url": 13}
    assert source.types == {"Queue": "AWS::SQS::Queue", "Other": "AWS::SQS::Queue"}


def test_nodes_keep_their_own_lines(tmp_path: Path) -> None:
    """A function node inside a property knows its line (errors point at it)."""
    source = read_template(write(tmp_path, YAML, "template.yaml"))
    node = source.template["Resources"]["Queue"]["Properties"]["QueueName"]
    assert line_of(node) == 6


def test_json_templates_read_too(tmp_path: Path) -> None:
    """JSON is read by the same decoder, with lines."""
    text = '{\n  "Resources": {\n    "Queue": {"Type": "AWS::SQS::Queue"}\n  }\n}\n'
    source = read_template(write(tmp_path, text, "template.json"))
    assert source.lines == {"Queue": 3}


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    """A template that is not there: one line saying so."""
    with pytest.raises(TemplateError, match=r"nope\.yaml: no such template file"):
        read_template(tmp_path / "nope.yaml")


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    """A YAML syntax error gives the file and its line."""
    with pytest.raises(TemplateError, match=r"template\.yaml \(line \d+\): did not find expected"):
        read_template(write(tmp_path, "Resources:\n  A:\n    Type: [unclosed\n", "template.yaml"))


def test_a_file_without_resources_is_not_a_template(tmp_path: Path) -> None:
    """Resources is the one required section."""
    with pytest.raises(TemplateError, match="not a CloudFormation template"):
        read_template(write(tmp_path, "Description: nothing\n", "template.yaml"))


def test_where_label_and_error_are_one_line() -> None:
    """``file: LogicalId (Type, line N): message``, whitespace folded onto one line."""
    where = Where("template.yaml", "ChatFunction", "AWS::Lambda::Function", 42)
    error = where.error("Runtime nodejs20.x\n  is not Python")
    assert (
        str(error)
        == "template.yaml: ChatFunction (AWS::Lambda::Function, line 42): Runtime nodejs20.x is not Python"
    )
    assert Where("t.yaml").label() == "t.yaml"
