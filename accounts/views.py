from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from .access import SESSION_MARKET_KEY, member_view, staff_view


@login_required
def home(request):
    """Send a person to the market they used last, or to their only one."""
    memberships = list(request.user.memberships.select_related("market").order_by("market__name"))
    if not memberships:
        return render(request, "accounts/no_market.html")
    last = request.session.get(SESSION_MARKET_KEY)
    chosen = next((m for m in memberships if m.market.slug == last), memberships[0])
    return redirect("market_home", market_slug=chosen.market.slug)


@member_view
def market_home(request):
    return render(request, "accounts/market_home.html")


@staff_view
def client_list(request):
    """The CLIENTS page: members of the market, with the way to their balances."""
    members = (
        request.market.memberships.select_related("user")
        .search(request.GET.get("q", ""))
        .order_by("user__last_name", "user__first_name", "pk")
    )
    page = Paginator(members, 50).get_page(request.GET.get("page"))
    return render(
        request, "accounts/client_list.html", {"page": page, "q": request.GET.get("q", "")}
    )
