"""The rows of a client's history (the staff's page and « Mon compte »), as HTML.

Fifty rows a page, each with its transaction's label, what it refers to (the
payment, the basket, the distribution, the operation it cancels or that
cancels it), the amounts and the balance after it; on the staff's page, who
recorded it and the « Annuler » form. Rendered by the template engine, each
row cost some forty tags; built here, each is a few `format_html` of values
read once, the words translated once per page. The markup is what the
template had, cells, classes and ``data-label`` attributes included, which
``table-stack`` turns into one card per operation on a phone.
"""

from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from cagette.money import format_euros

DAY = "d/m/Y"
ROW = (
    '<tr id="op-{pk}"{cancelled}>'
    '<td class="text-nowrap d-none d-md-table-cell">{date}</td>'
    '<td><div class="small text-muted d-md-none">{date}</div>'
    '{label} <span class="badge text-bg-light border d-md-none">{kind}</span>{details}</td>'
    '<td class="d-none d-md-table-cell"><span class="badge text-bg-light border">{kind}</span>'
    "</td>"
    '<td class="amount" data-label="{l_debit}">{debit}</td>'
    '<td class="amount" data-label="{l_credit}">{credit}</td>'
    '<td data-label="{l_held}" class="amount {held_class}">{held}</td>{staff}</tr>'
)
# By the sign of the balance after the operation: zero, credit, debt.
HELD_CLASSES = {0: "balance-zero", 1: "balance-credit", -1: "balance-debt"}


def _day(value) -> str:
    return date_format(value, DAY)


def _filled(message: str, **values) -> SafeString:
    """A translated message with values, as ``{% blocktranslate %}`` writes it."""
    escaped = {key: conditional_escape(value) for key, value in values.items()}
    return mark_safe(message % escaped)


def _related(txn, name):
    """What the transaction refers to by ``name``, or None (as the template read it)."""
    try:
        return getattr(txn, name)
    except AttributeError:  # a reverse one-to-one absent: RelatedObjectDoesNotExist
        return None


class HistoryRows:
    """Builds the rows of one page of the history for ``request``'s reader."""

    def __init__(self, request, *, staff: bool, client=None, reversal=None):
        self.slug = request.market.slug
        self.staff = staff
        self.admin = request.membership.is_admin
        self.client = client
        # The « Annuler » forms: which one failed, its form, a fresh token.
        self.reversal = reversal or {}
        # Trusted as the template trusted its own words: not escaped.
        self.words = {
            "l_debit": _("Débit"),
            "l_credit": _("Crédit"),
            "l_held": _("Solde"),
            "cancels": _("Annule"),
            "operation_of": _("l'opération du"),
            "cancelled_on": _("Annulée le"),
            "see_cancellation": _("voir l'annulation"),
            "cheque": _("chèque n°"),
            "reference": _("réf."),
            "cancel": _("Annuler"),
            "reason_label": _("Motif de l'annulation"),
            "confirm": _("Confirmer l'annulation"),
            "basket": _("Panier n° %(number)s"),
            "distribution": _("Distribution du %(date)s"),
            "motive": _("motif : %(reason)s"),
            "reason": _("raison : %(reason)s"),
            "bank_line": _("sur le relevé bancaire du %(date)s"),
        }
        self.words = {key: mark_safe(word) for key, word in self.words.items()}

    def render(self, entries) -> SafeString:
        if not entries:
            return format_html(
                '<tr><td colspan="{}" class="text-muted">{}</td></tr>',
                8 if self.staff else 6,
                _("Aucune opération pour le moment."),
            )
        return mark_safe("".join(self._row(entry) for entry in entries))

    def _row(self, entry) -> str:
        txn = entry.transaction
        reversal = _related(txn, "reversal")
        kind = txn.get_kind_display()
        held = entry.held_after
        return format_html(
            ROW,
            pk=txn.pk,
            cancelled=mark_safe(' class="table-secondary"') if reversal else "",
            date=_day(txn.date),
            label=txn.display_label,
            kind=kind,
            details=self._details(entry, txn, reversal),
            l_debit=self.words["l_debit"],
            debit=format_euros(entry.debit),
            l_credit=self.words["l_credit"],
            credit=format_euros(entry.credit),
            l_held=self.words["l_held"],
            held_class=HELD_CLASSES[(held > 0) - (held < 0)],
            held=format_euros(held),
            staff=self._staff_cells(entry, txn) if self.staff else "",
        )

    def _staff_cells(self, entry, txn) -> SafeString:
        """Who recorded the operation and when, and « Annuler »."""
        return format_html(
            '<td class="small d-none d-lg-table-cell">{}<div class="text-muted">{}</div></td>'
            '<td class="no-print">{}</td>',
            (txn.created_by.display_name if txn.created_by else "") or "—",
            date_format(timezone.localtime(txn.created_at), "d/m/Y H:i"),
            self._reverse_form(txn) if entry.correctable else "",
        )

    def _details(self, entry, txn, reversal) -> SafeString:
        """Under the label: the payment, the basket, the distribution, the cancellations."""
        payment = _related(txn, "payment")
        parts = [self._payment(payment) if payment else ""]
        if txn.order_id:
            parts.append(self._order(txn))
        distribution = payment.distribution if payment else None
        if distribution:
            text = _filled(self.words["distribution"], date=_day(distribution.date))
            if self.staff:
                url = reverse("day_distribution", args=[self.slug, distribution.pk])
                text = format_html('<a href="{}">{}</a>', url, text)
            parts.append(format_html('<div class="small">{}</div>', text))
        if txn.reverses_id:
            reason = _filled(self.words["motive"], reason=txn.reason) if txn.reason else ""
            reason = format_html(" — {}", reason) if reason else ""
            parts.append(
                format_html(
                    '<div class="small text-muted">{} <a href="{}">{} {}</a>{}</div>',
                    self.words["cancels"],
                    entry.reverses_href,
                    self.words["operation_of"],
                    _day(txn.reverses.date),
                    reason,
                )
            )
        if reversal:
            parts.append(
                format_html(
                    '<div class="small text-danger">{} {} (<a href="{}">{}</a>)</div>',
                    self.words["cancelled_on"],
                    _day(reversal.date),
                    entry.reversal_href,
                    self.words["see_cancellation"],
                )
            )
        return mark_safe("".join(parts))

    def _payment(self, payment) -> SafeString:
        parts = [conditional_escape(payment.get_method_display())]
        if payment.cheque_number:
            parts.append(format_html(" · {} {}", self.words["cheque"], payment.cheque_number))
        if payment.bank:
            parts.append(format_html(" · {}", payment.bank))
        if payment.reference:
            parts.append(format_html(" · {} {}", self.words["reference"], payment.reference))
        match = _related(payment, "bank_match")
        if match is not None:  # confirmed from the bank's statement (« Banque »)
            line = match.line
            parts.append(
                format_html(" · {}", _filled(self.words["bank_line"], date=_day(line.booked_on)))
            )
            if self.staff:
                parts.append(format_html(" ({})", line.label))
        return format_html('<div class="small text-muted">{}</div>', mark_safe("".join(parts)))

    def _order(self, txn) -> SafeString:
        order = txn.order
        if not self.staff:
            url = reverse("order_detail", args=[self.slug, order.pk])
        elif self.admin:
            url = reverse("order_edit", args=[self.slug, order.pk])
        else:
            url = reverse("day_basket", args=[self.slug, order.distribution_id, order.pk])
        reason = ""
        if txn.reason and not txn.reverses_id:
            reason = format_html(" — {}", _filled(self.words["reason"], reason=txn.reason))
        return format_html(
            '<div class="small"><a href="{}">{}</a>{}</div>',
            url,
            _filled(self.words["basket"], number=order.number),
            reason,
        )

    def _reverse_form(self, txn) -> SafeString:
        """« Annuler » and its form, open with its errors when it is the one that failed."""
        target = self.reversal.get("target")
        failed = target is not None and target.pk == txn.pk
        form = self.reversal.get("form") if failed else None
        errors = form.errors if form is not None else {}
        alerts, reason_errors, value = _form_errors(form) if form is not None else ("", "", "")
        return format_html(
            '<details id="reverse-{pk}"{open}>'
            '<summary class="btn btn-sm btn-outline-danger">{summary}</summary>'
            '<form method="post" action="{action}" class="mt-2" style="min-width: 16rem">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
            '<input type="hidden" name="form_token" value="{token}">{alerts}'
            '<label class="form-label small" for="reason-{pk}">{label}</label>'
            '<input class="form-control form-control-sm{invalid}" type="text" name="reason"'
            ' id="reason-{pk}" maxlength="500" required{value}>{reason_errors}'
            '<button class="btn btn-sm btn-danger mt-2" type="submit">{confirm}</button>'
            "</form></details>",
            pk=txn.pk,
            open=mark_safe(" open") if failed and errors else "",
            summary=self.words["cancel"],
            action=reverse("transaction_reverse", args=[self.slug, self.client.pk, txn.pk]),
            csrf=self.reversal.get("csrf", ""),
            token=self.reversal.get("token", ""),
            alerts=alerts,
            label=self.words["reason_label"],
            invalid=mark_safe(" is-invalid") if failed and "reason" in errors else "",
            value=value,
            reason_errors=reason_errors,
            confirm=self.words["confirm"],
        )


def _form_errors(form) -> tuple[SafeString, SafeString, SafeString]:
    """A failed « Annuler » form's own errors, its reason's errors, the reason typed."""
    alert = '<div class="alert alert-danger py-1 px-2 small" role="alert">{}</div>'
    alerts = mark_safe("".join(format_html(alert, e) for e in form.non_field_errors()))
    feedback = '<div class="invalid-feedback">{}</div>'
    reason = form["reason"]
    reason_errors = mark_safe("".join(format_html(feedback, e) for e in reason.errors))
    value = format_html(' value="{}"', reason.value()) if reason.value() else mark_safe("")
    return alerts, reason_errors, value
