"""BUGGY on purpose: sendmessage's 410 clean-up is dead code (except ClientError first).

The except order of the AWS SDK for Python's chat example (lambda_chat.py), here: Python
takes the first except clause that matches, and GoneException is a ClientError, so the
clean-up never runs. The rest is the fixed app's (../fixed/app.py), line for line.

The shape of AWS's simple-websockets-chat-app, in Python with boto3: a row per connection,
and sendmessage posts the frame's "data" to every row. A connection that is gone without a
$disconnect answers the post with 410 (GoneException): its row is deleted.
"""

import json
import logging
import os

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger()
dynamodb = boto3.client("dynamodb")
TABLE = os.environ["TABLE_NAME"]


def on_connect(event, context):
    connection_id = event["requestContext"]["connectionId"]
    dynamodb.put_item(TableName=TABLE, Item={"connectionId": {"S": connection_id}})
    return {"statusCode": 200, "body": "Connected."}


def on_disconnect(event, context):
    connection_id = event["requestContext"]["connectionId"]
    dynamodb.delete_item(TableName=TABLE, Key={"connectionId": {"S": connection_id}})
    return {"statusCode": 200, "body": "Disconnected."}


def connection_ids():
    """Every connection in the table, page after page."""
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=TABLE, ProjectionExpression="connectionId"
    )
    return [item["connectionId"]["S"] for page in pages for item in page["Items"]]


def on_sendmessage(event, context):
    request = event["requestContext"]
    data = json.loads(event["body"])["data"]
    api = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{request['domainName']}/{request['stage']}",
    )
    for connection_id in connection_ids():
        try:
            api.post_to_connection(ConnectionId=connection_id, Data=data.encode())
        except ClientError:  # BUG: GoneException is a ClientError, so it stops here
            logger.exception("Couldn't post to connection %s.", connection_id)
        except api.exceptions.GoneException:
            # Gone without a $disconnect: forget that connection.
            dynamodb.delete_item(TableName=TABLE, Key={"connectionId": {"S": connection_id}})
    return {"statusCode": 200, "body": "Data sent."}
