"""$connect: the authorizer has let the client in; accept the connection."""


def handler(event, context):
    return {"statusCode": 200}
