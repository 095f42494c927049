"""listrooms: answer the caller with the rooms they own, read through the byOwner index."""

import json
import os

import boto3
from boto3.dynamodb.conditions import Key

rooms = boto3.resource("dynamodb").Table(os.environ["ROOMS_TABLE"])
PAGE_SIZE = int(os.environ.get("PAGE_SIZE", "25"))


def owned_by(owner):
    """The owner's room names, oldest first, a page at a time."""
    query = {
        "IndexName": "byOwner",
        "KeyConditionExpression": Key("ownerId").eq(owner),
        "Limit": PAGE_SIZE,
    }
    while True:
        page = rooms.query(**query)
        yield from (item["roomName"] for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def handler(event, context):
    request = event["requestContext"]
    api = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{request['domainName']}/{request['stage']}",
    )
    names = list(owned_by(request["connectionId"]))
    api.post_to_connection(
        ConnectionId=request["connectionId"], Data=json.dumps({"rooms": names}).encode()
    )
    return {"statusCode": 200}
