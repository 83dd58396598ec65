from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cagette.search import clean_search

from .access import SESSION_MARKET_KEY, staff_view
from .models import OutgoingEmail
from .outbox import email_retry


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


def _get_email_for_market(request, email_id) -> OutgoingEmail:
    """An email of this market only: another market's id is not found."""
    return get_object_or_404(OutgoingEmail, pk=email_id, market=request.market)


@require_POST
@staff_view
def email_resend(request, email_id):
    """« Renvoyer »: queue again an email that could not be sent, then back where it was shown."""
    email = _get_email_for_market(request, email_id)
    if email_retry(email):
        messages.success(
            request,
            _("L'email à %(to)s est de nouveau en cours d'envoi.") % {"to": email.to},
        )
    else:
        messages.info(request, _("Cet email est déjà en cours d'envoi ou envoyé."))
    return redirect(_safe_next(request))


def _safe_next(request) -> str:
    """The page the button was on, if it is one of ours; else the market's home."""
    wanted = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("market_home", args=[request.market.slug])
