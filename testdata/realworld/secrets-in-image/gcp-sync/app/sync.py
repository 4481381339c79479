import os
from typing import Any


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"credentials": os.environ["GOOGLE_APPLICATION_CREDENTIALS"]}
