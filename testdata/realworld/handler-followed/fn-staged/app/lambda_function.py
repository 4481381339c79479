from typing import Any


def handler(event, context: object) -> dict[str, Any]:
    return {"ok": True, "records": len(event.get("Records", []))}
