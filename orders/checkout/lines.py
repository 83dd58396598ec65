"""Reading a basket: the quantities typed, checked against the catalogue, priced.

Nothing here writes: a refusal raises `CheckoutError` with the sentence the
client reads.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from django.utils.translation import gettext as _

from accounts.models import Market
from cagette.ids import is_id
from cagette.money import (
    ZERO,
    NumberTooLong,
    format_euros,
    format_quantity,
    parse_decimal,
    round_cents,
    typed_back,
)

from ..models import Order, OrderLine, Product
from .errors import CheckoutError

MAX_QUANTITY = Decimal("999")


QUANTITY_STEP = Decimal("0.001")  # what an order line stores


@dataclass(frozen=True)
class BasketLine:
    product: Product
    quantity: Decimal
    unit_price: Decimal | None = None  # the price it was ordered at, once recorded

    @property
    def price(self) -> Decimal:
        return self.product.unit_price if self.unit_price is None else self.unit_price

    @property
    def amount(self) -> Decimal:
        return round_cents(self.quantity * self.price)


def _not_a_quantity(text, product: Product) -> CheckoutError:
    shown = typed_back(text).strip()
    if not shown:  # too long to quote
        return CheckoutError(
            _("La quantité de %(product)s n'est pas un nombre valable.") % {"product": product.name}
        )
    return CheckoutError(
        _("« %(text)s » n'est pas une quantité valable pour %(product)s.")
        % {"text": shown, "product": product.name}
    )


def _too_much(product: Product) -> CheckoutError:
    return CheckoutError(
        _("%(product)s : %(max)s au plus par commande.")
        % {"product": product.name, "max": MAX_QUANTITY}
    )


def parse_quantity(text, product: Product) -> Decimal:
    """A quantity typed by the client; 0 (however written) means "none of this product"."""
    if str(text if text is not None else "").strip() == "":
        return Decimal("0")
    try:
        quantity = parse_decimal(text)
    except NumberTooLong:
        raise _too_much(product) from None
    except ValueError:
        raise _not_a_quantity(text, product) from None
    if quantity < 0:
        raise CheckoutError(
            _("La quantité de %(product)s ne peut pas être négative.") % {"product": product.name}
        )
    if quantity == 0:
        return Decimal("0")
    if quantity > MAX_QUANTITY:
        raise _too_much(product)
    if product.sold_by_whole_units and quantity != quantity.to_integral_value():
        raise CheckoutError(
            _("%(product)s se commande à l'unité : indiquez un nombre entier.")
            % {"product": product.name}
        )
    # By value, not by digits typed: "1,5000" is 1,5.
    if quantity != quantity.quantize(QUANTITY_STEP):
        raise CheckoutError(_("%(product)s : trois décimales au plus.") % {"product": product.name})
    return quantity


def refuse_free_line(product: Product, quantity: Decimal, unit_price: Decimal) -> None:
    """Refuse a line whose amount rounds to 0,00 €: it would be given away, and post nothing."""
    if quantity and round_cents(quantity * unit_price) == 0:
        raise CheckoutError(
            _(
                "Quantité trop petite : %(quantity)s %(unit)s de %(product)s "
                "reviendrait à %(amount)s."
            )
            % {
                "quantity": format_quantity(quantity),
                "unit": product.get_unit_display(),
                "product": product.name,
                "amount": format_euros(ZERO),
            }
        )


def _product_id(key) -> int:
    try:
        pk = int(key)
    except (TypeError, ValueError):
        pk = 0
    if not is_id(pk):
        raise CheckoutError(_("Ce produit n'existe pas."))
    return pk


def basket_read(market: Market, quantities: Mapping) -> list[BasketLine]:
    """Turn ``{product_id: typed quantity}`` into basket lines (zero lines dropped)."""
    wanted = {_product_id(key): text for key, text in quantities.items()}
    products = Product.objects.available().filter(market=market, pk__in=wanted)
    products = {p.pk: p for p in products.select_related("producer")}
    if set(wanted) - set(products):
        raise CheckoutError(_("Un des produits demandés n'est pas proposé par ce marché."))
    lines = []
    for pk, text in wanted.items():
        quantity = parse_quantity(text, products[pk])
        if quantity:
            refuse_free_line(products[pk], quantity, products[pk].unit_price)
            lines.append(BasketLine(products[pk], quantity))
    return sorted(lines, key=lambda line: (line.product.producer.name, line.product.name))


def basket_total(lines) -> Decimal:
    return sum((line.amount for line in lines), ZERO)


def basket_priced(order: Order | None, lines: list[BasketLine]) -> list[BasketLine]:
    """The basket at the prices checkout will record, so the pages show what is posted."""
    current = current_lines(order)
    return [
        replace(line, unit_price=current[line.product.pk].unit_price)
        if line.product.pk in current
        else line
        for line in lines
    ]


def current_lines(order: Order | None) -> dict[int, OrderLine]:
    if order is None:
        return {}
    return {line.product_id: line for line in order.lines.select_related("product__producer")}
