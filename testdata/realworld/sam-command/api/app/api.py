from typing import Any


def handler(event, context: object) -> dict[str, Any]:
    return {"statusCode": 200, "body": "[]"}
