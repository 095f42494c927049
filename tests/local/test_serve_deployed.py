"""Serving what was deployed: an API read back from API Gateway v2 in moto, with its deployed code.

The package deployed here is the project's own zip with one visible change (its ``joined``
frame carries ``"deployed": true``), so a chat that shows the change proves the gateway ran
the deployed package and not the ``wsrelay`` installed in this environment.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
import websocket

from wsrelay.deploy import package
from wsrelay.deploy.aws import Clients
from wsrelay.deploy.deployer import deploy
from wsrelay.deploy.stack import StackNames
from wsrelay.local import LocalGateway
from wsrelay.local.deployed import DeployedCodeError

from .support import CLIENTS, WAIT

pytestmark = pytest.mark.integration

MARKER = '{"type": "joined", "room": room, "deployed": True}'


def marked_package() -> bytes:
    """The project's Lambda zip, its ``joined`` frame marked as coming from this package."""
    source = zipfile.ZipFile(io.BytesIO(package.build_zip()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as marked:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "wsrelay/protocol.py":
                text = data.decode()
                original = '{"type": "joined", "room": room}'
                assert original in text, "protocol.joined_frame changed: update this test"
                data = text.replace(original, MARKER).encode()
            marked.writestr(item, data)
    return out.getvalue()


def no_sleep(seconds: float) -> None:
    """Deploy's retries need no real wait against moto."""


@pytest.fixture
def deployed(moto_endpoint: str) -> tuple[str, str]:
    """(API id, function name) of a stack deployed into the session's moto server."""
    names = StackNames(f"s{uuid.uuid4().hex[:10]}", "dev")
    clients = Clients.connect(region="us-east-1", endpoint_url=moto_endpoint)
    deployment = deploy(
        clients, names, code=marked_package(), report=lambda _: None, sleep=no_sleep
    )
    return deployment.api_id, names.function


def test_the_deployed_package_serves_the_chat(
    moto_endpoint: str, deployed: tuple[str, str]
) -> None:
    """Routes, integration and function read back from moto; the deployed code answers."""
    api_id, function = deployed
    with LocalGateway.from_deployed(api_id, moto_endpoint, port=0) as gw:
        assert gw.stage == "dev"
        code_dir = gw.api.functions[function].code_dir
        assert code_dir is not None and (code_dir / "wsrelay" / "handlers.py").is_file()
        ws = websocket.create_connection(f"{gw.url}?room=a&name=ada", timeout=WAIT)
        CLIENTS.append(ws)
        ws.send(json.dumps({"action": "joinroom", "room": "b"}))
        assert json.loads(ws.recv()) == {"type": "joined", "room": "b", "deployed": True}
        ws.send(json.dumps({"action": "sendmessage", "message": "from moto's table"}))
        assert json.loads(ws.recv())["message"] == "from moto's table"
        # The rows are in the deployment's own table, in moto.
        ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
        table = gw.api.functions[function].environment["CONNECTIONS_TABLE"]
        rows = ddb.scan(TableName=table)["Items"]
        assert [row["roomId"]["S"] for row in rows] == ["b"]


def test_code_not_deployed_by_wsrelay_needs_the_zip(moto_endpoint: str, tmp_path: Path) -> None:
    """A function whose package is not cached here is refused with the fix; its zip is checked."""
    lam = boto3.client("lambda", endpoint_url=moto_endpoint, region_name="us-east-1")
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    apigw = boto3.client("apigatewayv2", endpoint_url=moto_endpoint, region_name="us-east-1")
    unique = uuid.uuid4().hex[:8]
    role = iam.create_role(RoleName=f"r-{unique}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr(
            "app.py", f"def handler(event, context):\n    return {{'unique': '{unique}'}}\n"
        )
    name = f"f-{unique}"
    arn = lam.create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]  # fmt: skip
    api = apigw.create_api(
        Name=name, ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.a"
    )
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"
    integration = apigw.create_integration(
        ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationUri=uri
    )
    apigw.create_route(
        ApiId=api["ApiId"],
        RouteKey="$default",
        Target=f"integrations/{integration['IntegrationId']}",
    )
    apigw.create_stage(ApiId=api["ApiId"], StageName="dev", AutoDeploy=True)  # fmt: skip
    with pytest.raises(DeployedCodeError) as missing:
        LocalGateway.from_deployed(api["ApiId"], moto_endpoint)
    assert f"--code {name}=PATH" in str(missing.value)
    wrong = tmp_path / "wrong.zip"
    wrong.write_bytes(package.build_zip())
    with pytest.raises(DeployedCodeError, match="is not its deployed package"):
        LocalGateway.from_deployed(api["ApiId"], moto_endpoint, code={name: wrong})
    right = tmp_path / "right.zip"
    right.write_bytes(code.getvalue())
    gateway = LocalGateway.from_deployed(api["ApiId"], moto_endpoint, code={name: right})
    code_dir = gateway.api.functions[name].code_dir
    assert code_dir is not None and unique in (code_dir / "app.py").read_text()
