"""The menu at the top of every page for a signed-in person, built in Python.

``{% navigation %}`` gives the markup base.html had for it: the market's pages
for the person's role, the « Mes achats » links, and the person's menu (the
market switcher, « Se déconnecter »). Every page of a market shows it; in the
template it was some forty tags (a dozen addresses reversed, as many
translations, a loop over the person's markets), a twentieth of a page's time.
Here each link is one `format_html`, and the menu is kept, per process, for
the values it shows (language, market, role, the person's markets and name,
read on each request: a change shows at once); only the sign-out form's CSRF
token is added each time. Bootstrap turns it into the collapsed menu of a phone
as before.
"""

from functools import lru_cache

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import STAFF_ROLES, Role

register = template.Library()

LINK = '<li class="nav-item"><a class="nav-link" href="{}">{}</a></li>'
ITEM = '<li><a class="dropdown-item" href="{}">{}</a></li>'
DROPDOWN = (
    '<li class="nav-item dropdown"><button class="nav-link dropdown-toggle" type="button"'
    ' data-bs-toggle="dropdown" aria-expanded="false">{}</button>'
    '<ul class="dropdown-menu">{}</ul></li>'
)


def _links(template_html: str, links) -> SafeString:
    rows = ((reverse(name, args=[slug]), label) for name, slug, label in links)
    return format_html_join("", template_html, rows)


def _market_links(slug: str, role: str) -> SafeString:
    """The market's pages the person's role opens, then their own purchases."""
    purchases = [
        ("shop_distribution_list", slug, _("Commander")),
        ("my_orders", slug, _("Mes commandes")),
        ("my_account", slug, _("Mon compte")),
    ]
    if role not in STAFF_ROLES:
        return _links(LINK, purchases)
    staff = [
        ("distribution_list", slug, _("Distributions")),
        ("pending_transfers", slug, _("Virements attendus")),
        ("bank_statements", slug, _("Banque")),
        ("client_list", slug, _("Clients")),
        ("balance_list", slug, _("Solde des clients")),
    ]
    parts = [_links(LINK, staff)]
    if role == Role.ADMIN:
        settings = [
            ("payment_settings", slug, _("Moyens de paiement")),
            ("producer_list", slug, _("Producteurs")),
            ("product_list", slug, _("Produits")),
        ]
        parts.append(format_html(DROPDOWN, _("Paramètres"), _links(ITEM, settings)))
    parts.append(format_html(DROPDOWN, _("Mes achats"), _links(ITEM, purchases)))
    return mark_safe("".join(parts))


def _market_switcher(memberships: tuple, current: int | None) -> SafeString:
    """The person's markets, the current one marked, when they have several."""
    if len(memberships) <= 1:
        return mark_safe("")
    items = [
        format_html(
            '<li><a class="dropdown-item{}" href="{}">{} <small class="{}">({})</small></a></li>',
            " active" if market_id == current else "",
            reverse("market_home", args=[slug]),
            name,
            "text-white-50" if market_id == current else "text-muted",
            Role(role).label,
        )
        for market_id, slug, name, role in memberships
    ]
    return format_html(
        '<li><h6 class="dropdown-header" id="market-switcher">{}</h6></li>{}'
        '<li><hr class="dropdown-divider"></li>',
        _("Changer de marché"),
        mark_safe("".join(items)),
    )


def _csrf_input(token) -> SafeString:
    """What ``{% csrf_token %}`` writes."""
    if not token or token == "NOTPROVIDED":
        return mark_safe("")
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)


@lru_cache(maxsize=1024)
def _menu(language: str, here, memberships: tuple, name: str) -> tuple[SafeString, SafeString]:
    """The menu before and after the sign-out form's CSRF token, from the values it
    shows alone: the same values give the same markup, built once per process."""
    market_id, slug, role = here or (None, None, None)
    before = format_html(
        '<button class="navbar-toggler" type="button" data-bs-toggle="collapse"'
        ' data-bs-target="#nav" aria-controls="nav" aria-expanded="false" aria-label="{}">'
        '<span class="navbar-toggler-icon"></span></button>'
        '<div class="collapse navbar-collapse" id="nav">'
        '<ul class="navbar-nav me-auto text-nowrap">{}</ul>'
        '<ul class="navbar-nav text-nowrap"><li class="nav-item dropdown">'
        '<button class="nav-link dropdown-toggle" type="button" data-bs-toggle="dropdown"'
        ' aria-expanded="false" id="user-menu" aria-label="{}">{}</button>'
        '<ul class="dropdown-menu dropdown-menu-end">{}'
        '<li><form method="post" action="{}">',
        _("Menu"),
        _market_links(slug, role) if role else "",
        _("Mon profil et mes marchés"),
        name,
        _market_switcher(memberships, market_id),
        reverse("logout"),
    )
    after = format_html(
        '<button class="dropdown-item" type="submit">{}</button></form></li></ul></li></ul></div>',
        _("Se déconnecter"),
    )
    return before, after


@register.simple_tag(takes_context=True)
def navigation(context) -> SafeString:
    """The signed-in person's menu (base.html shows it only to them)."""
    request = context["request"]
    market = getattr(request, "market", None)
    membership = getattr(request, "membership", None)
    memberships = context.get("my_memberships")
    memberships = memberships() if callable(memberships) else memberships or []
    here = None
    if market:
        here = (market.pk, market.slug, membership.role if membership else None)
    before, after = _menu(
        get_language(),
        here,
        tuple((m.market_id, m.market.slug, m.market.name, m.role) for m in memberships),
        context["user"].display_name,
    )
    return before + _csrf_input(context.get("csrf_token")) + after
