"""$connect: remember the connection and its room (?room=NAME, default lobby)."""

import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["CONNECTIONS_TABLE"])


def handler(event, context):
    params = event.get("queryStringParameters") or {}
    table.put_item(
        Item={
            "connectionId": event["requestContext"]["connectionId"],
            "roomId": params.get("room", "lobby"),
        }
    )
    return {"statusCode": 200, "body": "Connected."}
