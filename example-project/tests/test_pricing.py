from decimal import Decimal

import pytest

from app.pricing import InvalidOrder, Line, parse_lines, quote


def test_quote_applies_vat_and_rounds_to_cents() -> None:
    result = quote([Line("a", 3, Decimal("9.99"))], Decimal("0.20"), Decimal("100"))
    assert result.subtotal == Decimal("29.97")
    assert result.discount == Decimal("0.00")
    assert result.vat == Decimal("5.99")
    assert result.total == Decimal("35.96")


def test_quote_discounts_at_the_threshold() -> None:
    result = quote([Line("a", 1, Decimal("100"))], Decimal("0"), Decimal("100"))
    assert result.discount == Decimal("5.00")
    assert result.total == Decimal("95.00")


def test_parse_lines_accepts_valid_lines() -> None:
    lines = parse_lines([{"sku": "a", "quantity": 2, "unit_price": "1.50"}])
    assert lines == [Line("a", 2, Decimal("1.50"))]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "at least one line"),
        ([{"sku": "", "quantity": 1, "unit_price": 1}], "sku"),
        ([{"sku": "a", "quantity": 0, "unit_price": 1}], "quantity"),
        ([{"sku": "a", "quantity": True, "unit_price": 1}], "quantity"),
        ([{"sku": "a", "quantity": 1, "unit_price": "x"}], "unit_price"),
        ([{"sku": "a", "quantity": 1, "unit_price": "-1"}], "non-negative"),
        ([{"sku": "a", "quantity": 1, "unit_price": "NaN"}], "non-negative"),
    ],
)
def test_parse_lines_rejects_invalid_lines(raw: list[dict[str, object]], message: str) -> None:
    with pytest.raises(InvalidOrder, match=message):
        parse_lines(raw)
