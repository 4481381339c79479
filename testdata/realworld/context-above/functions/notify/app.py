from typing import Any


def handler(event: dict[str, Any], context: object, retries: int) -> None:
    print(event, retries)
