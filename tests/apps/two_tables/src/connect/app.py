"""$connect: register the user by the ?email= of the connection URL."""

import os

import boto3

users = boto3.resource("dynamodb").Table(os.environ["USERS_TABLE"])


def handler(event, context):
    email = (event.get("queryStringParameters") or {}).get("email")
    if not email:
        return {"statusCode": 400, "body": "connect with ?email=ADDRESS"}
    users.put_item(Item={"userId": event["requestContext"]["connectionId"], "email": email})
    return {"statusCode": 200}
