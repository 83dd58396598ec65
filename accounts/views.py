from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import redirect, render

from cagette.search import clean_search

from .access import SESSION_MARKET_KEY, staff_view


@login_required
def home(request):
    """Send a person to the market they used last (in this session, else the last
    one they switched to), or to the one they joined first."""
    memberships = list(
        request.user.memberships.select_related("market").order_by(
            F("last_visited_at").desc(nulls_last=True), "joined_at", "pk"
        )
    )
    if not memberships:
        return render(request, "accounts/no_market.html")
    last = request.session.get(SESSION_MARKET_KEY)
    chosen = next((m for m in memberships if m.market.slug == last), memberships[0])
    return redirect("market_home", market_slug=chosen.market.slug)


@staff_view
def client_list(request):
    """The CLIENTS page: members of the market, with the way to their balances."""
    search = clean_search(request.GET.get("q"))
    members = (
        request.market.memberships.select_related("user")
        .search(search)
        .order_by("user__last_name", "user__first_name", "pk")
    )
    page = Paginator(members, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/client_list.html", {"page": page, "q": search})
