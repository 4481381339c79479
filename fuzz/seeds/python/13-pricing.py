"""Business logic: pricing an order. Pure functions, no AWS, easy to test."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Mapping, Sequence

CENT = Decimal("0.01")


class InvalidOrder(ValueError):
    """The order cannot be priced; the message says why."""


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class Quote:
    subtotal: Decimal
    discount: Decimal
    vat: Decimal
    total: Decimal

    def as_dict(self) -> dict[str, str]:
        return {
            "subtotal": str(self.subtotal),
            "discount": str(self.discount),
            "vat": str(self.vat),
            "total": str(self.total),
        }


def parse_lines(raw: Sequence[Mapping[str, object]]) -> list[Line]:
    """Validates the order lines of an event."""
    if not raw:
        raise InvalidOrder("an order needs at least one line")
    lines = []
    for index, item in enumerate(raw):
        sku = item.get("sku")
        quantity = item.get("quantity")
        price = item.get("unit_price")
        if not isinstance(sku, str) or not sku:
            raise InvalidOrder(f"line {index}: sku must be a non-empty string")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise InvalidOrder(f"line {index}: quantity must be a positive integer")
        try:
            unit_price = Decimal(str(price))
        except InvalidOperation:
            raise InvalidOrder(f"line {index}: unit_price must be a number") from None
        if not unit_price.is_finite() or unit_price < 0:
            raise InvalidOrder(f"line {index}: unit_price must be a non-negative number")
        lines.append(Line(sku=sku, quantity=quantity, unit_price=unit_price))
    return lines


def quote(lines: Sequence[Line], vat_rate: Decimal, discount_threshold: Decimal) -> Quote:
    """Prices `lines`: 5% off a subtotal at or above the threshold, then VAT, rounded to cents."""
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    discount = (subtotal * Decimal("0.05")) if subtotal >= discount_threshold else Decimal(0)
    taxable = subtotal - discount
    vat = taxable * vat_rate
    return Quote(
        subtotal=subtotal.quantize(CENT, ROUND_HALF_EVEN),
        discount=discount.quantize(CENT, ROUND_HALF_EVEN),
        vat=vat.quantize(CENT, ROUND_HALF_EVEN),
        total=(taxable + vat).quantize(CENT, ROUND_HALF_EVEN),
    )
