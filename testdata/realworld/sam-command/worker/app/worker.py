from typing import Any


def handler(event: dict[str, Any], context: object) -> None:
    for record in event.get("Records", []):
        print(record["body"])
