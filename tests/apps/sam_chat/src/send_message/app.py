"""sendmessage: post {"action": "sendmessage", "data": ...}'s data to everyone in the sender's room."""

import json
import os
import uuid

import boto3
from boto3.dynamodb.conditions import Key

dynamodb = boto3.resource("dynamodb")
connections = dynamodb.Table(os.environ["CONNECTIONS_TABLE"])
messages = dynamodb.Table(os.environ["MESSAGES_TABLE"])


def room_members(room):
    """Every connection id in the room, read from the roomId index page by page."""
    query = {"IndexName": "roomId-index", "KeyConditionExpression": Key("roomId").eq(room)}
    while True:
        page = connections.query(**query)
        for item in page["Items"]:
            yield item["connectionId"]
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def handler(event, context):
    request = event["requestContext"]
    data = json.loads(event["body"])["data"]
    sender = connections.get_item(Key={"connectionId": request["connectionId"]}).get("Item", {})
    room = sender.get("roomId", "lobby")
    messages.put_item(Item={"messageId": str(uuid.uuid4()), "roomId": room, "data": data})

    api = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{request['domainName']}/{request['stage']}",
    )
    payload = json.dumps({"room": room, "data": data}).encode()
    for connection_id in room_members(room):
        try:
            api.post_to_connection(ConnectionId=connection_id, Data=payload)
        except api.exceptions.GoneException:
            # The client went away without a $disconnect: forget it.
            connections.delete_item(Key={"connectionId": connection_id})
    return {"statusCode": 200, "body": "Data sent."}
