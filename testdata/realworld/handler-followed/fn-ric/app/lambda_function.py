from typing import Any


async def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"ok": True}
