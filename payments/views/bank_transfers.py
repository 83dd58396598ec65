"""« Virements attendus »: check the transfers before the distribution, and chase them."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.access import staff_view
from accounts.outbox import emails_not_sent
from cagette.http import post_only
from cagette.money import format_euros

from ..bank_transfer_forms import DistributionFilterForm, TransferSelectionForm
from ..bank_transfers import (
    MissingIbanError,
    pending_transfers,
    transfer_reminders_send,
    transfer_totals,
    transfers_mark_received,
)


@staff_view
def transfer_list(request):
    filter_form = DistributionFilterForm(request.GET or None, market=request.market)
    if filter_form.is_bound and not filter_form.is_valid():
        raise Http404("No such distribution with transfers in this market")
    distribution = filter_form.selected
    sections = _sections(request.market, distribution)
    context = {
        "filter_form": filter_form,
        "distribution": distribution,
        "sections": sections,
        "form": TransferSelectionForm(initial={"distribution": distribution and distribution.pk}),
        "emails_not_sent": _reminders_not_sent(sections),
    }
    return render(request, "payments/transfers.html", context)


def _sections(market, distribution) -> list[dict]:
    """The upcoming and late transfers, both narrowed to the distribution shown, if any."""
    upcoming = list(pending_transfers(market, distribution))
    late = list(pending_transfers(market, distribution, late=True))
    return [
        {
            "id": "upcoming",
            "title": _("Distributions à venir"),
            "empty": _("Aucun virement attendu pour les distributions à venir."),
            "rows": upcoming,
            "totals": transfer_totals(upcoming),
        },
        {
            "id": "late",
            "title": _("En retard"),
            "help": _(
                "Virements attendus pour des distributions passées et toujours pas reçus : "
                "ils restent dus par ces clients."
            ),
            "empty": _("Aucun virement en retard pour cette distribution.")
            if distribution
            else _("Aucun virement en retard."),
            "rows": late,
            "totals": transfer_totals(late),
        },
    ]


def _reminders_not_sent(sections):
    """For each transfer shown, its last reminder if that one could not be sent.

    An older reminder not sent is not offered again: a later one replaced it.
    """
    rows = [row for section in sections for row in section["rows"] if row.last_reminder_failed]
    return emails_not_sent(*[f"payment:{row.pk}" for row in rows]).filter(
        pk__in=[row.last_reminder_email for row in rows]
    )


def _back(request, form: TransferSelectionForm):
    """Back to the page, showing the distribution it was showing."""
    url = reverse("pending_transfers", args=[request.market.slug])
    distribution = form.cleaned_data.get("distribution")
    return redirect(f"{url}?{urlencode({'distribution': distribution})}" if distribution else url)


def _selection(request) -> TransferSelectionForm:
    """The submitted selection; when invalid, the person is told why."""
    form = TransferSelectionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return form


def _report_skipped(request, skipped: int) -> None:
    if skipped:
        messages.warning(
            request,
            ngettext(
                "%(count)s virement sélectionné n'est plus attendu : il a été ignoré.",
                "%(count)s virements sélectionnés ne sont plus attendus : ils ont été ignorés.",
                skipped,
            )
            % {"count": skipped},
        )


@post_only("pending_transfers")
@staff_view
def transfers_received(request):
    form = _selection(request)
    if not form.is_valid():
        return _back(request, form)
    outcome = transfers_mark_received(
        market=request.market,
        payment_ids=form.cleaned_data["payments"],
        received_by=request.user,
    )
    count = len(outcome.payments)
    if count:
        messages.success(
            request,
            ngettext(
                "%(count)s virement marqué comme reçu (%(amount)s).",
                "%(count)s virements marqués comme reçus (%(amount)s).",
                count,
            )
            % {"count": count, "amount": format_euros(outcome.amount)},
        )
    _report_skipped(request, outcome.skipped)
    return _back(request, form)


@post_only("pending_transfers")
@staff_view
def transfers_remind(request):
    form = _selection(request)
    if not form.is_valid():
        return _back(request, form)
    try:
        outcome = transfer_reminders_send(
            market=request.market,
            payment_ids=form.cleaned_data["payments"],
            sent_by=request.user,
            token=form.cleaned_data["form_token"],
        )
    except MissingIbanError:
        messages.error(
            request,
            _(
                "Renseignez l'IBAN du marché dans les moyens de paiement avant d'envoyer "
                "des rappels : le message le donne aux clients."
            ),
        )
        return _back(request, form)
    _report_reminders(request, outcome)
    _report_skipped(request, outcome.skipped)
    return _back(request, form)


def _report_reminders(request, outcome) -> None:
    if outcome.repeated:
        messages.info(
            request, _("Ce formulaire avait déjà été envoyé : aucun rappel n'est parti en double.")
        )
    if outcome.under_way:
        messages.info(
            request,
            ngettext(
                "%(count)s rappel de ce formulaire est encore en cours d'envoi : "
                "il n'est pas envoyé une seconde fois.",
                "%(count)s rappels de ce formulaire sont encore en cours d'envoi : "
                "ils ne sont pas envoyés une seconde fois.",
                outcome.under_way,
            )
            % {"count": outcome.under_way},
        )
    if outcome.queued:
        count = len(outcome.queued)
        messages.success(
            request,
            ngettext(
                "%(count)s rappel en cours d'envoi.", "%(count)s rappels en cours d'envoi.", count
            )
            % {"count": count},
        )
