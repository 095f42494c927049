"""Lambda functions: handler, runtime, environment, limits, code and layers, and their refusals."""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from wsrelay.local.templates import TemplateError

from .support import app_of, base, function


def fn_of(tmp_path: Path, **properties: Any) -> Any:
    app = app_of(tmp_path, base(Fn=function(**properties)))
    return app.api.functions[app.functions_by_logical_id["Fn"]]


def test_lambda_defaults(tmp_path: Path) -> None:
    """Without Timeout and MemorySize a function gets Lambda's 3 s and 128 MB."""
    fn = fn_of(tmp_path)
    assert (fn.timeout, fn.memory_size, fn.reserved_concurrency) == (3.0, 128, None)


def test_settings_are_read(tmp_path: Path) -> None:
    """Timeout, MemorySize, ReservedConcurrentExecutions and LoggingConfig are the template's."""
    fn = fn_of(
        tmp_path,
        Timeout=60,
        MemorySize=1024,
        ReservedConcurrentExecutions=2,
        LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"},
    )
    assert (fn.timeout, fn.memory_size, fn.reserved_concurrency) == (60.0, 1024, 2)
    assert fn.logging == {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"}


def test_environment_values_are_strings(tmp_path: Path) -> None:
    """CloudFormation passes numbers and booleans to Lambda as strings ("5", "true")."""
    fn = fn_of(
        tmp_path, Environment={"Variables": {"N": 5, "F": 1.5, "ON": True, "OFF": False, "S": "s"}}
    )
    assert fn.environment == {"N": "5", "F": "1.5", "ON": "true", "OFF": "false", "S": "s"}


def test_non_python_runtime_is_refused(tmp_path: Path) -> None:
    """A Node.js function: one line naming the runtime and what to do."""
    with pytest.raises(TemplateError) as caught:
        fn_of(tmp_path, Runtime="nodejs20.x")
    assert re.search(
        r"template\.json: Fn \(AWS::Lambda::Function, line \d+\): Runtime nodejs20\.x is not Python; "
        "the local gateway runs Python functions only",
        str(caught.value),
    )


def test_another_python_minor_is_a_warning(tmp_path: Path) -> None:
    """A python3.x other than the local one serves, with one warning line naming the function."""
    other = f"python3.{sys.version_info.minor + 1}"
    app = app_of(tmp_path, base(Fn=function(Runtime=other)))
    assert [w.split("template.json: ", 1)[1] for w in app.warnings] == [
        f"Runtime {other} (Fn), but the local gateway runs Python "
        f"3.{sys.version_info.minor}: code that needs {other} may behave differently here"
    ]


def test_image_package_is_refused(tmp_path: Path) -> None:
    """PackageType Image needs Docker: refused."""
    with pytest.raises(
        TemplateError, match="PackageType Image runs a container image, which needs Docker"
    ):
        fn_of(
            tmp_path,
            PackageType="Image",
            Code={"ImageUri": "123.dkr.ecr.us-east-1.amazonaws.com/x:1"},
            Runtime=None,
            Handler=None,
        )


def test_missing_runtime_is_refused(tmp_path: Path) -> None:
    """A zip function needs a Runtime."""
    with pytest.raises(TemplateError, match="has no Runtime"):
        fn_of(tmp_path, Runtime=None)


def test_s3_code_without_a_local_path_is_refused(tmp_path: Path) -> None:
    """Code in S3 names the bucket and key and the --code option."""
    with pytest.raises(TemplateError) as caught:
        fn_of(tmp_path, Code={"S3Bucket": "artifacts", "S3Key": "fn.zip"})
    assert "Code is in S3 (s3://artifacts/fn.zip), which the local gateway cannot read" in str(
        caught.value
    )
    assert "--code Fn=PATH (a folder or .zip)" in str(caught.value)


def test_s3_code_with_a_local_zip(tmp_path: Path) -> None:
    """``code={LogicalId: zip}`` serves S3 code from a local zip."""
    archive = tmp_path / "fn.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "def handler(event, context):\n    return {}\n")
    template = base(
        Fn=function(Code={"S3Bucket": "artifacts", "S3Key": "fn.zip"}, Handler="app.handler")
    )
    app = app_of(tmp_path, template, code={"Fn": archive})
    folder = app.api.functions[app.functions_by_logical_id["Fn"]].code_dir
    assert folder is not None and (folder / "app.py").is_file()


def test_code_for_an_unknown_logical_id_is_an_error(tmp_path: Path) -> None:
    """``code=`` for a function the template has not got names it."""
    with pytest.raises(
        TemplateError,
        match=re.escape("--code Nope=...: the template has no function or layer Nope"),
    ):
        app_of(tmp_path, base(), code={"Nope": tmp_path})


def test_code_as_a_local_folder_relative_to_the_template(tmp_path: Path) -> None:
    """``Code: src`` (the form ``aws cloudformation package`` takes) is relative to the template."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "requirements.txt").write_text("requests\n")
    fn = fn_of(tmp_path, Code="src")
    assert fn.code_dir == tmp_path / "src"
    assert fn.requirements == tmp_path / "src" / "requirements.txt"


def test_a_missing_code_folder_is_an_error(tmp_path: Path) -> None:
    """A local Code path that is not there names the function."""
    with pytest.raises(
        TemplateError, match=r"Fn \(AWS::Lambda::Function, line \d+\): Code: .*src does not exist"
    ):
        fn_of(tmp_path, Code="src")


def test_a_bad_zip_names_the_function(tmp_path: Path) -> None:
    """A broken .zip is one line naming the function."""
    (tmp_path / "fn.zip").write_bytes(b"not a zip")
    with pytest.raises(
        TemplateError,
        match=r"Fn \(AWS::Lambda::Function, line \d+\): Code: .*fn\.zip is not a valid zip file",
    ):
        fn_of(tmp_path, Code="fn.zip")


def test_inline_code_serves_from_index_py(tmp_path: Path) -> None:
    """Code.ZipFile is written to index.py, where Handler index.handler finds it."""
    fn = fn_of(tmp_path)
    assert fn.handler == "index.handler" and (fn.code_dir / "index.py").is_file()


def test_every_function_is_served_even_unrouted(tmp_path: Path) -> None:
    """A function no route calls is still in the API's functions (others invoke it)."""
    app = app_of(tmp_path, base(Helper=function(FunctionName="helper")))
    assert app.functions_by_logical_id["Helper"] == "helper"
    assert "helper" in app.api.functions
    assert {route.function for route in app.api.routes.values()} == {
        app.functions_by_logical_id["Fn"]
    }


def test_a_layer_from_outside_the_template_is_a_warning(tmp_path: Path) -> None:
    """A layer ARN of another account is not loaded: a warning says so."""
    arn = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3:1"
    app = app_of(tmp_path, base(Fn=function(Layers=[arn])))
    assert any(f"layer {arn} is not in this template" in w for w in app.warnings)
