"""whoami: answer the caller with the user registered under an email, read through byEmail."""

import json
import os

import boto3
from boto3.dynamodb.conditions import Key

users = boto3.resource("dynamodb").Table(os.environ["USERS_TABLE"])


def handler(event, context):
    request = event["requestContext"]
    email = json.loads(event["body"]).get("email", "")
    found = users.query(IndexName="byEmail", KeyConditionExpression=Key("email").eq(email))
    answer = {
        "user": found["Items"][0] if found["Items"] else None,
        "stageVariables": event.get("stageVariables"),
    }
    api = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{request['domainName']}/{request['stage']}",
    )
    api.post_to_connection(ConnectionId=request["connectionId"], Data=json.dumps(answer).encode())
    return {"statusCode": 200}
