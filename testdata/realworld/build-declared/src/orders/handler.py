from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    order = event["order"]
    return {"statusCode": 200, "body": order
