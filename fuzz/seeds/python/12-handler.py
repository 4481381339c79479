"""The Lambda entry point: an API Gateway (HTTP API) event in, a JSON response out."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any, Mapping

from app.pricing import InvalidOrder, parse_lines, quote


def _response(status: int, body: Mapping[str, object]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body, sort_keys=True),
    }


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """Prices the order in the request body."""
    vat_rate = Decimal(os.environ.get("VAT_RATE", "0.20"))
    threshold = Decimal(os.environ.get("DISCOUNT_THRESHOLD", "100"))
    try:
        body = json.loads(event.get("body") or "{}")
    except json.JSONDecodeError:
        return _response(400, {"error": "the body is not JSON"})
    if not isinstance(body, dict) or not isinstance(body.get("lines"), list):
        return _response(400, {"error": "the body needs a `lines` list"})
    try:
        lines = parse_lines(body["lines"])
    except InvalidOrder as error:
        return _response(400, {"error": str(error)})
    return _response(200, quote(lines, vat_rate, threshold).as_dict())
