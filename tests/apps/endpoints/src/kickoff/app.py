"""kickoff: start the worker asynchronously (InvocationType Event) and answer at once."""

import json
import os

import boto3

lambda_client = boto3.client("lambda")


def handler(event, context):
    request = event["requestContext"]
    lambda_client.invoke(
        FunctionName=os.environ["WORKER_FUNCTION"],
        InvocationType="Event",
        Payload=json.dumps({"connectionId": request["connectionId"]}).encode(),
    )
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{request['domainName']}/{request['stage']}",
    )
    client.post_to_connection(
        ConnectionId=request["connectionId"], Data=json.dumps({"status": "started"}).encode()
    )
    return {"statusCode": 200}
