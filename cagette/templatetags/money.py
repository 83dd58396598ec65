"""Template filters for money: ``{{ amount|euros }}`` → ``1 234,56 €``."""

from django import template

from cagette.money import NBSP, format_euros, format_number, format_quantity
from orders.models import Unit

register = template.Library()


@register.filter
def euros(amount):
    return format_euros(amount)


@register.filter
def decimal_fr(amount):
    return format_number(amount)


@register.filter
def quantity(value):
    return format_quantity(value)


@register.filter
def quantity_unit(line):
    """An order line's quantity with its unit, in the right number: « 2 pièces ».

    A no-break space, as in amounts: the unit never starts a line on its own.
    """
    unit = Unit.counted(line.product.unit, line.quantity)
    return f"{format_quantity(line.quantity)}{NBSP}{unit}"
