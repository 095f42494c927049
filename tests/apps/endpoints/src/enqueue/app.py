"""enqueue: send the frame's text to the queue, read it back, and post what came back."""

import json
import os

import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    request = event["requestContext"]
    text = json.loads(event["body"]).get("text", "")
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=text)
    received = sqs.receive_message(
        QueueUrl=os.environ["QUEUE_URL"], MaxNumberOfMessages=1, WaitTimeSeconds=2
    )
    messages = received.get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=os.environ["QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"])
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{request['domainName']}/{request['stage']}",
    )
    client.post_to_connection(
        ConnectionId=request["connectionId"],
        Data=json.dumps({"queued": [m["Body"] for m in messages]}).encode(),
    )
    return {"statusCode": 200}
