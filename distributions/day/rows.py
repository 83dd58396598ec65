"""The rows of the distribution page (« Validation »), one per basket, as HTML.

The page lists every basket of the day, hundreds on a big one. Rendered by
the template engine, each row cost a dozen variable look-ups and as many
translations, and the page took five times longer for ten times the
baskets; built here, each row is one `format_html` of values read once (the
labels translated once per page, the basket's URL reversed once), a tenth
of that. The markup is what the page's template had: the same cells, classes
and ``data-label`` attributes, which ``table-stack`` turns into one card per
basket on a phone. The template places the rows in its table.
"""

import html

from django.db.models import F
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.models import display_name
from cagette.money import format_euros
from orders.models import Order

# What a row reads of each basket, and of its client and their account (read
# as columns of the basket: one object per row, not four).
FIELDS = ["number", "total", "payment_method", "checkout_mode", "validated_at"]
CLIENT = {
    "row_first_name": F("membership__user__first_name"),
    "row_last_name": F("membership__user__last_name"),
    "row_email": F("membership__user__email"),
    "row_balance": F("membership__account__balance"),
}

# The whole row opens the basket: the client's link stretches over it.
ROW = (
    '<tr class="position-relative" id="basket-{number}">'
    '<td class="py-3 fs-5 fw-semibold" data-label="{l_number}">{number}</td>'
    '<td class="py-3"><a class="stretched-link link-dark text-decoration-none fw-semibold"'
    ' href="{url}">{name}</a>{new}</td>'
    '<td class="py-3 amount" data-label="{l_amount}">{total}</td>'
    '<td class="py-3" data-label="{l_choice}">{choice}</td>'
    '<td class="py-3 amount" data-label="{l_paid}">{paid}{on_balance}</td>'
    '<td class="py-3 amount" data-label="{l_due}">{due}</td>'
    '<td class="py-3 amount" data-label="{l_held}"><span class="{held_class}">{held}</span></td>'
    '<td class="py-3" data-label="{l_status}">{status}</td>'
    "</tr>"
)


def _row_format() -> str:
    """`ROW` with the page's fixed words in place, translated and escaped once."""
    words = {
        "l_number": _("N°"),
        "l_amount": _("Montant"),
        "l_choice": _("Paiement choisi"),
        "l_paid": _("Payé"),
        "l_due": _("Reste dû"),
        "l_held": _("Solde du client"),
        "l_status": _("Statut"),
    }
    row = ROW
    for key, word in words.items():
        escaped = conditional_escape(word).replace("{", "{{").replace("}", "}}")
        row = row.replace("{" + key + "}", escaped)
    return row


def _marks() -> dict[str, SafeString]:
    """The pieces of markup a row may carry, translated once."""
    return {
        "new": format_html(
            '<span class="text-warning fs-5 new-client" title="{}" aria-hidden="true">★</span>'
            '<span class="visually-hidden">{}</span>',
            _("Nouveau client"),
            _("nouveau client"),
        ),
        "cagnotte": conditional_escape(_("cagnotte du marché")),
        "on_balance": format_html('<div class="small text-muted">{}</div>', _("sur le solde")),
        "nothing_due": mark_safe('<span class="balance-zero">—</span>'),
        "validated": format_html('<span class="badge text-bg-secondary">{}</span>', _("Validé")),
        "to_validate": format_html('<span class="badge text-bg-warning">{}</span>', _("À valider")),
    }


def _held_class(held) -> str:
    return "balance-debt" if held < 0 else "balance-credit" if held > 0 else "balance-zero"


def basket_rows(baskets, *, market_slug: str, distribution_id: int) -> list[Order]:
    """The baskets of ``baskets`` (`day_baskets` rows, in the page's order), each
    with its row of the page in ``row_html``."""
    # Reversed once: the basket's id is the last part of its page's path.
    head = reverse("day_basket", args=[market_slug, distribution_id, 0]).removesuffix("0/")
    row_format, marks = _row_format(), _marks()
    orders = list(baskets.select_related(None).only(*FIELDS).annotate(**CLIENT))
    for order in orders:
        order.row_html = _row(order, f"{head}{order.pk}/", row_format, marks)
    return orders


def _row(order: Order, url: str, row_format: str, marks) -> SafeString:
    # Escaped here, once, with the standard library: the client's name and the
    # payment's label come from people; amounts are digits, a comma, spaces
    # and « € »; the marks are markup already. (`format_html` escaping each of
    # the dozen values through Django's lazy-aware wrapper was a third of a row.)
    held = -order.row_balance  # what the client holds (`Account.held`)
    name = display_name(order.row_first_name, order.row_last_name, order.row_email)
    cagnotte = order.on_balance and order.in_cagnotte_mode
    due = f'<span class="balance-debt">{format_euros(order.due)}</span>'
    choice = marks["cagnotte"] if cagnotte else html.escape(str(order.payment_choice_staff_label))
    return mark_safe(  # every value is escaped above, or is markup of ours
        row_format.format(
            number=order.number,
            url=html.escape(url),
            name=html.escape(name),
            new=marks["new"] if order.is_new else "",
            total=format_euros(order.total),
            choice=choice,
            paid=format_euros(order.paid),
            on_balance=marks["on_balance"] if order.on_balance else "",
            due=due if order.due else marks["nothing_due"],
            held_class=_held_class(held),
            held=format_euros(held),
            status=marks["validated"] if order.is_validated else marks["to_validate"],
        )
    )
