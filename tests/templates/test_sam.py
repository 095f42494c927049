"""The SAM transform by aws-sam-translator: Globals, local code paths, SimpleTable, layers, policies."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from wsrelay.local.templates import TemplateError, load_app
from wsrelay.local.templates.sam import expand_sam
from wsrelay.local.templates.source import read_template

from .support import LOCAL_RUNTIME, write

SAM = f"""\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: {LOCAL_RUNTIME}
    Timeout: 12
    MemorySize: 256
    Environment:
      Variables:
        TABLE: !Ref Table
Resources:
  Table:
    Type: AWS::Serverless::SimpleTable
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Layers: [!Ref Layer]
      Environment:
        Variables:
          OWN: "yes"
      Policies:
        - DynamoDBCrudPolicy:
            TableName: !Ref Table
        - AmazonSQSFullAccess
        - SomePolicyTheTranslatorDoesNotKnow
  Inline:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      Timeout: 3
      InlineCode: |
        def handler(event, context):
            return {{"statusCode": 200}}
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: sam
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub "arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{Fn.Arn}}/invocations"
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: $default
      Target: !Sub integrations/${{Integration}}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Api
      StageName: dev
"""


@pytest.fixture
def sam_folder(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    (tmp_path / "layer" / "python").mkdir(parents=True)
    write(tmp_path, SAM, "template.yaml")
    return tmp_path


def test_globals_reach_every_function(sam_folder: Path) -> None:
    """Runtime, Timeout, MemorySize and Environment from Globals; a function's own variables merge in."""
    app = load_app(sam_folder / "template.yaml", stack_name="sam")
    fn = app.api.functions[app.functions_by_logical_id["Fn"]]
    table = app.resources["Table"]
    assert (fn.runtime, fn.timeout, fn.memory_size) == (LOCAL_RUNTIME, 12.0, 256)
    assert fn.environment == {"TABLE": table, "OWN": "yes"}
    inline = app.api.functions[app.functions_by_logical_id["Inline"]]
    assert (inline.timeout, inline.memory_size, inline.environment) == (3.0, 256, {"TABLE": table})


def test_local_code_uri_is_mapped_back(sam_folder: Path) -> None:
    """A local CodeUri reaches the function as its folder, relative to the template's folder."""
    app = load_app(sam_folder / "template.yaml")
    assert (
        app.api.functions[app.functions_by_logical_id["Fn"]].code_dir
        == (sam_folder / "src").resolve()
    )


def test_inline_code_is_written_to_index_py(sam_folder: Path) -> None:
    """InlineCode becomes Code.ZipFile, written to index.py as Lambda does for Python."""
    app = load_app(sam_folder / "template.yaml")
    folder = app.api.functions[app.functions_by_logical_id["Inline"]].code_dir
    assert folder is not None and 'return {"statusCode": 200}' in (folder / "index.py").read_text()


def test_simple_table_expands_to_a_table(sam_folder: Path) -> None:
    """A SimpleTable without PrimaryKey has a String key ``id``, billed PAY_PER_REQUEST (SAM's rules)."""
    app = load_app(sam_folder / "template.yaml", stack_name="sam")
    (table,) = app.tables
    assert table.create_params == {
        "TableName": app.resources["Table"],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def test_layer_python_folder_is_on_the_import_path(sam_folder: Path) -> None:
    """A local layer's python/ folder is added after the function's own code."""
    app = load_app(sam_folder / "template.yaml")
    assert app.api.functions[app.functions_by_logical_id["Fn"]].layers == (
        (sam_folder / "layer" / "python").resolve(),
    )


def test_policies_become_a_role_with_managed_policy_arns(sam_folder: Path) -> None:
    """Managed policies by name get their ARNs offline, known to the translator or not."""
    stack_source = read_template(sam_folder / "template.yaml")
    expanded = expand_sam(stack_source, stack_source.template, region="us-east-1", parameters={})
    role = expanded["Resources"]["FnRole"]
    assert role["Type"] == "AWS::IAM::Role"
    assert role["Properties"]["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AmazonSQSFullAccess",
        "arn:aws:iam::aws:policy/SomePolicyTheTranslatorDoesNotKnow",
    ]


def test_roles_and_the_layer_are_listed(sam_folder: Path) -> None:
    """The roles SAM made are not emulated, each listed once; the layer version is used."""
    app = load_app(sam_folder / "template.yaml")
    assert sorted((n.logical_id, n.type) for n in app.not_emulated) == [
        ("FnRole", "AWS::IAM::Role"),
        ("InlineRole", "AWS::IAM::Role"),
    ]


def test_translator_errors_are_one_line(tmp_path: Path) -> None:
    """What the translator refuses comes back as its own message, on one line."""
    text = SAM.replace("      CodeUri: src/\n", "").replace(
        "      InlineCode: |", "      CodeUri: src/\n      InlineCode: |"
    )
    with pytest.raises(TemplateError) as caught:
        load_app(write(tmp_path, text, "template.yaml"))
    assert "the SAM transform refused the template" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_code_in_s3_needs_a_local_path(tmp_path: Path) -> None:
    """A CodeUri in S3 is refused unless ``code=`` gives a local path, then that is used."""
    (tmp_path / "src").mkdir()
    (tmp_path / "layer").mkdir()
    text = SAM.replace("CodeUri: src/", "CodeUri: s3://my-bucket/fn.zip")
    path = write(tmp_path, text, "template.yaml")
    with pytest.raises(
        TemplateError,
        match=r"Fn \(AWS::Serverless::Function, line \d+\): Code is in S3 \(s3://my-bucket/fn.zip\).*--code Fn=PATH",
    ):
        load_app(path)
    app = load_app(path, code={"Fn": tmp_path / "src"})
    assert (
        app.api.functions[app.functions_by_logical_id["Fn"]].code_dir
        == (tmp_path / "src").resolve()
    )


def test_other_transforms_are_refused(tmp_path: Path) -> None:
    """A template needing another macro (AWS::LanguageExtensions) is refused."""
    text = SAM.replace(
        "Transform: AWS::Serverless-2016-10-31",
        "Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]",
    )
    with pytest.raises(
        TemplateError,
        match="Transform AWS::LanguageExtensions is a macro only CloudFormation can run",
    ):
        load_app(write(tmp_path, text, "template.yaml"))


def test_code_uri_zip_and_passed_through_settings(tmp_path: Path) -> None:
    """A CodeUri .zip is extracted; ReservedConcurrentExecutions and LoggingConfig reach the function."""
    with zipfile.ZipFile(tmp_path / "fn.zip", "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    (tmp_path / "layer" / "python").mkdir(parents=True)
    (tmp_path / "src").mkdir()
    text = SAM.replace("CodeUri: src/", "CodeUri: fn.zip").replace(
        "      Layers: [!Ref Layer]\n",
        "      Layers: [!Ref Layer]\n      ReservedConcurrentExecutions: 2\n"
        "      LoggingConfig:\n        LogFormat: JSON\n        ApplicationLogLevel: DEBUG\n",
    )
    app = load_app(write(tmp_path, text, "template.yaml"))
    fn = app.api.functions[app.functions_by_logical_id["Fn"]]
    assert fn.code_dir is not None and (fn.code_dir / "app.py").is_file()
    assert fn.code_dir != tmp_path
    assert fn.reserved_concurrency == 2
    assert fn.logging == {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"}


def test_nested_applications_are_refused_before_translating(tmp_path: Path) -> None:
    """An AWS::Serverless::Application would make the translator call the network: refused."""
    text = SAM + (
        "  Nested:\n    Type: AWS::Serverless::Application\n    Properties:\n"
        "      Location:\n        ApplicationId: arn:aws:serverlessrepo:us-east-1:123456789012:applications/x\n"
        "        SemanticVersion: 1.0.0\n"
    )
    with pytest.raises(
        TemplateError,
        match=r"Nested \(AWS::Serverless::Application, line \d+\): a nested application",
    ):
        load_app(write(tmp_path, text, "template.yaml"))
