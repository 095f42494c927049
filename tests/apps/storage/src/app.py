"""$default (two-way): write an object to the app's bucket, read it back, publish to its topic."""

import json
import os

import boto3

s3 = boto3.client("s3")
sns = boto3.client("sns")


def handler(event, context):
    bucket = os.environ["BUCKET"]
    s3.put_object(Bucket=bucket, Key="notes/hello.txt", Body=b"hi there")
    body = s3.get_object(Bucket=bucket, Key="notes/hello.txt")["Body"].read().decode()
    message = sns.publish(TopicArn=os.environ["TOPIC"], Message="a note was written")
    return {"statusCode": 200, "body": json.dumps({"s3": body, "sns": bool(message["MessageId"])})}
