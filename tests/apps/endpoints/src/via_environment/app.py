"""viaenvironment: post back through an execute-api URL the template passed in.

{"action": "viaenvironment", "variable": "CALLBACK_URL_JOINED"} picks the URL built by
Fn::Join; the default is CALLBACK_URL, built by Fn::Sub. The client comes from a session of
the function's own, as frameworks make them.
"""

import json
import os

import boto3

session = boto3.session.Session()


def handler(event, context):
    request = event["requestContext"]
    variable = json.loads(event.get("body") or "{}").get("variable", "CALLBACK_URL")
    client = session.client("apigatewaymanagementapi", endpoint_url=os.environ[variable])
    client.post_to_connection(
        ConnectionId=request["connectionId"],
        Data=json.dumps({"via": variable, "url": os.environ[variable]}).encode(),
    )
    return {"statusCode": 200}
