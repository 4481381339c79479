from typing import Any

from helpers import greeting


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"statusCode": 200, "body": greeting(event.get("name", "world"))}
