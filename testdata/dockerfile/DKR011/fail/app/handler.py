def handler(event: dict, context: object) -> dict:
    return {}
