"""echo (a two-way route): the return value is the frame the caller gets back."""

import json


def handler(event, context):
    body = event.get("body")
    user = event["requestContext"]["authorizer"]["user"]
    return {"statusCode": 200, "body": json.dumps({"echo": body, "user": user})}
