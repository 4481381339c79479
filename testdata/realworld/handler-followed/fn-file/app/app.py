import json


def handler(event):
    return {"statusCode": 200, "body": json.dumps(event)}
