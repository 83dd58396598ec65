"""Pages that read every app: the market's home page."""

from django.db.models import Count, Sum
from django.shortcuts import render

from accounts.access import member_view
from distributions.models import Distribution
from distributions.status import distributions_to_validate
from payments.bank_transfers import expected_transfers
from payments.ledger import client_account
from payments.ledger.balances import balance_sentence


@member_view
def market_home(request):
    """What each person comes for: the client orders and sees their balance; the
    staff find the distributions waiting for them and the transfers expected."""
    market = request.market
    context = {
        "open_distributions": Distribution.objects.filter(market=market)
        .accepting_orders()
        .order_by("date")[:3],
        "sentence": balance_sentence(client_account(request.membership).held),
    }
    if request.membership.is_staff_role:
        context["to_validate"] = distributions_to_validate(market)
        context["transfers"] = expected_transfers(market).aggregate(
            count=Count("pk"), amount=Sum("amount")
        )
    return render(request, "cagette/market_home.html", context)
