"""Invoked by sync, not by a route: doubles a number."""


def handler(event, context):
    return {"doubled": event["number"] * 2}
