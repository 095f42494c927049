"""whoami (a one-way route): the same answer as echo, which reaches no one without a route response."""

import json


def handler(event, context):
    user = event["requestContext"]["authorizer"]["user"]
    return {"statusCode": 200, "body": json.dumps({"user": user})}
