"""viadomain: post back through https://{domainName}/{stage}, AWS's own pattern."""

import json

import boto3


def handler(event, context):
    request = event["requestContext"]
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{request['domainName']}/{request['stage']}",
    )
    client.post_to_connection(
        ConnectionId=request["connectionId"], Data=json.dumps({"via": "domain"}).encode()
    )
    return {"statusCode": 200}
