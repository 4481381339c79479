import json
from pathlib import Path

import pytest

from app.handler import handler

EVENTS = Path(__file__).parent.parent / "events"


def test_sample_event_is_priced() -> None:
    event = json.loads((EVENTS / "price-order.json").read_text())
    response = handler(event, None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {
        "subtotal": "119.97",
        "discount": "6.00",
        "vat": "22.79",
        "total": "136.77",
    }


@pytest.mark.parametrize(
    "body",
    ["not json", json.dumps({"no": "lines"}), json.dumps({"lines": []}), json.dumps([1])],
)
def test_bad_requests_are_400(body: str) -> None:
    response = handler({"body": body}, None)
    assert response["statusCode"] == 400
    assert "error" in json.loads(response["body"])


def test_environment_sets_the_vat_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAT_RATE", "0")
    body = json.dumps({"lines": [{"sku": "a", "quantity": 1, "unit_price": "10"}]})
    assert json.loads(handler({"body": body}, None)["body"])["total"] == "10.00"
