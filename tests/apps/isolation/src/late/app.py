"""late: sleep past the integration timeout, then post "late": the function runs on."""

import os
import time

import boto3


def handler(event, context):
    time.sleep(float(os.environ["SLEEP_SECONDS"]))
    request = event["requestContext"]
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{request['domainName']}/{request['stage']}",
    )
    client.post_to_connection(ConnectionId=request["connectionId"], Data=b"late")
    return {"statusCode": 200}
