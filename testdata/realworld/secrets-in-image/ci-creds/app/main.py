from typing import Any


def handler(event: dict[str, Any], context: object) -> None:
    print(event)
