"""The basket being filled, kept in the session until the client checks out."""

from decimal import Decimal

SESSION_KEY = "baskets"


def basket_get(session, distribution_id: int) -> dict[str, str] | None:
    """The basket being filled; None when there is none (an emptied basket is ``{}``)."""
    basket = session.get(SESSION_KEY, {}).get(str(distribution_id))
    return None if basket is None else dict(basket)


def basket_put(session, distribution_id: int, lines) -> None:
    baskets = session.get(SESSION_KEY, {})
    baskets[str(distribution_id)] = {str(line.product.pk): str(line.quantity) for line in lines}
    session[SESSION_KEY] = baskets


def basket_clear(session, distribution_id: int) -> None:
    baskets = session.get(SESSION_KEY, {})
    if baskets.pop(str(distribution_id), None) is not None:
        session[SESSION_KEY] = baskets


def quantities_of(order) -> dict[str, str]:
    if order is None:
        return {}
    return {str(line.product_id): str(Decimal(line.quantity)) for line in order.lines.all()}
