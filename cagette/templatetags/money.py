"""Template filters for money: ``{{ amount|euros }}`` → ``1 234,56 €``."""

from django import template

from cagette.money import format_euros, format_number, format_quantity

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
