"""The worker kickoff starts: works a while, then posts "done" to the connection it was given."""

import json
import os
import time

import boto3


def handler(event, context):
    time.sleep(float(os.environ["WORK_SECONDS"]))
    client = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["CALLBACK_URL"])
    client.post_to_connection(
        ConnectionId=event["connectionId"], Data=json.dumps({"status": "done"}).encode()
    )
    return {"done": True}
