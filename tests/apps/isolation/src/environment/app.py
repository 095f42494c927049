"""environment: post what the function sees: a shell variable, its memory, its time left."""

import json
import os

import boto3


def handler(event, context):
    request = event["requestContext"]
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{request['domainName']}/{request['stage']}",
    )
    seen = {
        "secret": os.environ.get("WSRELAY_SHELL_SECRET", "unset"),
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_time_in_millis": context.get_remaining_time_in_millis(),
    }
    client.post_to_connection(ConnectionId=request["connectionId"], Data=json.dumps(seen).encode())
    return {"statusCode": 200}
