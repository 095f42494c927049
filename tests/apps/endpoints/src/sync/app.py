"""sync: invoke the doubler by its ARN (RequestResponse) and post back what it returned."""

import json
import os

import boto3

lambda_client = boto3.client("lambda")


def handler(event, context):
    request = event["requestContext"]
    number = json.loads(event["body"]).get("number", 21)
    response = lambda_client.invoke(
        FunctionName=os.environ["DOUBLER_ARN"],
        InvocationType="RequestResponse",
        Payload=json.dumps({"number": number}).encode(),
    )
    result = json.loads(response["Payload"].read())
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{request['domainName']}/{request['stage']}",
    )
    client.post_to_connection(
        ConnectionId=request["connectionId"], Data=json.dumps({"result": result}).encode()
    )
    return {"statusCode": 200}
