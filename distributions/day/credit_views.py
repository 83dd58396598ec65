"""« Régler avec son avoir »: a basket the client's credit already pays.

Apart from `views` only for its size; it shares that module's lookups.
"""

from django.contrib import messages
from django.utils.translation import gettext as _

from accounts.access import staff_view
from cagette.http import post_only
from cagette.money import format_euros

from .basket_money import (
    CreditShort,
    NothingToSettle,
    OnlinePaymentExpected,
    basket_settle_from_credit,
)
from .pickup import BasketLocked
from .views import LOCKED_MESSAGE, get_basket, to_basket


@post_only("day_basket", "distribution_id", "order_id")
@staff_view
def day_settle_from_credit(request, distribution_id, order_id):
    order = get_basket(request, distribution_id, order_id)
    try:
        basket_settle_from_credit(order=order, settled_by=request.user)
    except BasketLocked:
        messages.error(request, LOCKED_MESSAGE)
    except NothingToSettle:
        messages.info(request, _("Ce panier est déjà réglé avec le solde du client."))
    except OnlinePaymentExpected:
        messages.error(
            request,
            _(
                "Un paiement en ligne est attendu pour ce panier : attendez sa confirmation, "
                "ou marquez-le non payé."
            ),
        )
    except CreditShort as error:
        messages.error(
            request,
            _(
                "Le solde du client ne couvre plus ce panier (il doit %(debt)s) : "
                "encaissez le paiement attendu."
            )
            % {"debt": format_euros(-error.held)},
        )
    else:
        messages.success(
            request,
            _("Panier n° %(number)s réglé avec l'avoir du client : rien n'est à encaisser.")
            % {"number": order.number},
        )
    return to_basket(request, order)
