"""« Banque »: the market's bank statements imported, and the bank lines they brought."""

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.access import staff_view
from cagette.http import post_only
from cagette.money import ZERO, format_euros

from ..bank.forms import LineSelectionForm, StatementUploadForm
from ..bank.proposals import bank_proposals, proposals_confirm
from ..bank.rows import match_rows
from ..bank.store import statement_seen, statement_store
from ..ledger import account_balance, market_account
from ..models import AccountKind, BankLine, BankStatement

LINES_SHOWN = 100


@staff_view
def bank_statements(request):
    market = request.market
    form = StatementUploadForm(request.POST or None, request.FILES or None, market=market)
    if request.method == "POST" and form.is_valid():
        _import(request, form)
        return redirect("bank_statements", market.slug)
    statements = BankStatement.objects.filter(market=market).annotate(lines_new=Count("lines"))
    found = bank_proposals(market)
    context = {
        "sure": match_rows(found, found.sure),
        "check": match_rows(found, found.check),
        "unknown": [found.lines[p.credit.line_id] for p in found.unknown],
        "received": match_rows(found, found.received),
        "form": form,
        "statements": statements[:20],
        "last": statements.filter(closing__isnull=False).order_by("-closing_on", "-pk").first(),
        "ledger_balance": account_balance(market_account(market, AccountKind.BANK)),
        "lines": BankLine.objects.filter(market=market)[:LINES_SHOWN],
        "lines_count": BankLine.objects.filter(market=market).count(),
    }
    return render(request, "payments/bank.html", context, status=400 if form.errors else 200)


def _import(request, form) -> None:
    earlier = statement_seen(request.market, form.data_bytes)
    if earlier is not None:
        when = formats.date_format(timezone.localtime(earlier.imported_at), "SHORT_DATE_FORMAT")
        text = _("Ce fichier a déjà été importé le %(date)s : rien de nouveau.")
        messages.info(request, text % {"date": when})
        return
    statement, new = statement_store(
        market=request.market,
        parsed=form.parsed,
        data=form.data_bytes,
        filename=form.cleaned_data["file"].name,
        imported_by=request.user,
    )
    messages.success(
        request,
        ngettext(
            "Relevé importé : %(new)d ligne nouvelle sur %(total)d.",
            "Relevé importé : %(new)d lignes nouvelles sur %(total)d.",
            new,
        )
        % {"new": new, "total": statement.lines_in_file},
    )
    if statement.balances_agree is False:
        messages.warning(
            request,
            _(
                "Le solde d'ouverture (%(opening)s) plus les opérations (%(lines)s) ne font pas le "
                "solde de clôture du relevé (%(closing)s) : le fichier est peut-être incomplet."
            )
            % {
                "opening": format_euros(statement.opening),
                "lines": format_euros(statement.lines_total),
                "closing": format_euros(statement.closing),
            },
        )


@post_only("bank_statements")
@staff_view
def bank_confirm(request, line_id: int | None = None):
    """Confirm the sure matches ticked, or one line's proposal (``line_id``)."""
    form = LineSelectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Sélection invalide : rechargez la page et recommencez."))
        return redirect("bank_statements", request.market.slug)
    lines, payments = form.cleaned_data["lines"], None
    if line_id is not None:  # one line's proposal, with the payments the page showed
        get_object_or_404(BankLine, market=request.market, pk=line_id, amount__gt=0)
        lines, payments = [line_id], form.cleaned_data["payments"]
    received = proposals_confirm(
        market=request.market,
        line_ids=lines,
        payment_ids=payments,
        received_by=request.user,
        sure_only=line_id is None,
    )
    if received:
        total = sum((p.amount for p in received), ZERO)
        text = ngettext(
            "%(count)s virement reçu (%(amount)s).",
            "%(count)s virements reçus (%(amount)s).",
            len(received),
        )
        messages.success(request, text % {"count": len(received), "amount": format_euros(total)})
    else:
        messages.info(
            request,
            _("Rien à confirmer : ces virements sont déjà reçus ou n'ont plus de correspondance."),
        )
    return redirect("bank_statements", request.market.slug)
