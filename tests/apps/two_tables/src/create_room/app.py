"""createroom: write a room owned by the caller, and tell the caller its id."""

import json
import os
import time
import uuid

import boto3

rooms = boto3.resource("dynamodb").Table(os.environ["ROOMS_TABLE"])


def handler(event, context):
    request = event["requestContext"]
    name = json.loads(event["body"]).get("name", "untitled")
    room = {
        "roomId": str(uuid.uuid4()),
        "ownerId": request["connectionId"],
        "roomName": name,
        "createdAt": int(time.time() * 1000),
    }
    rooms.put_item(Item=room)
    api = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{request['domainName']}/{request['stage']}",
    )
    api.post_to_connection(
        ConnectionId=request["connectionId"],
        Data=json.dumps({"created": room["roomId"], "name": name}).encode(),
    )
    return {"statusCode": 200}
