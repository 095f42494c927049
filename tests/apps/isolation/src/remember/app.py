"""remember: keep the request's body in a module global, wait, then post the global back.

Safe on Lambda, where an execution environment runs one invocation at a time; two
concurrent requests in one process would post each other's bodies.
"""

import time

import boto3

CURRENT = None


def handler(event, context):
    global CURRENT
    CURRENT = event["body"]
    time.sleep(0.5)
    request = event["requestContext"]
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{request['domainName']}/{request['stage']}",
    )
    client.post_to_connection(ConnectionId=request["connectionId"], Data=CURRENT.encode())
    return {"statusCode": 200}
