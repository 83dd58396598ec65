"""« Banque »: the market's bank statements imported, and the bank lines they brought."""

import datetime

from django.contrib import messages
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.access import staff_view
from accounts.models import Membership, Role
from cagette.http import post_only
from cagette.ids import id_from
from cagette.money import ZERO, format_euros
from cagette.search import clean_search

from ..bank.aside import DEPOSITS, line_aside, line_take_back
from ..bank.forms import (
    AsideForm,
    ColumnsForm,
    LineSelectionForm,
    StatementUploadForm,
    TakeBackForm,
    layout_save,
)
from ..bank.proposals import (
    bank_proposals,
    deposit_hints,
    line_assign,
    line_standing,
    matched_lines,
    proposals_confirm,
)
from ..bank.rows import MatchRow, match_rows
from ..bank.store import statement_seen, statement_store
from ..ledger import account_balance, market_account
from ..models import (
    AccountKind,
    BankCsvLayout,
    BankLine,
    BankLineAside,
    BankStatement,
    StatementUpload,
)

LINES_SHOWN = 100


@staff_view
def bank_statements(request):
    market = request.market
    form = StatementUploadForm(request.POST or None, request.FILES or None, market=market)
    if request.method == "POST" and form.is_valid():
        if form.layout_needed is not None:
            upload = _upload_keep(request, form)
            return redirect("bank_columns", market.slug, upload.pk)
        name = form.cleaned_data["file"].name
        _import(request, form.parsed, form.data_bytes, name)
        return redirect("bank_statements", market.slug)
    statements = BankStatement.objects.filter(market=market).annotate(lines_new=Count("lines"))
    found = bank_proposals(market)
    unknown = [found.lines[p.credit.line_id] for p in found.unknown]
    hints = deposit_hints(market, unknown)
    context = {
        "sure": match_rows(found, found.sure),
        "check": match_rows(found, found.check),
        "unknown": unknown,
        "unknown_rows": [(line, hints.get(line.pk, "")) for line in unknown],
        "aside_form": AsideForm(),
        "aside": BankLineAside.objects.filter(market=market)
        .select_related("line", "created_by")
        .order_by("-created_at")[:LINES_SHOWN],
        "received": [
            *(MatchRow(line, paid, "", False) for line, paid in matched_lines(market)),
            *match_rows(found, found.received),
        ],
        "form": form,
        "statements": statements[:20],
        "last": statements.filter(closing__isnull=False).order_by("-closing_on", "-pk").first(),
        "ledger_balance": account_balance(market_account(market, AccountKind.BANK)),
        "lines": BankLine.objects.filter(market=market)[:LINES_SHOWN],
        "lines_count": BankLine.objects.filter(market=market).count(),
    }
    return render(request, "payments/bank.html", context, status=400 if form.errors else 200)


def _upload_keep(request, form) -> StatementUpload:
    """The file kept for its columns to be said; the market's files left so for a day go."""
    needed = form.layout_needed
    stale = timezone.now() - datetime.timedelta(days=1)
    StatementUpload.objects.filter(market=request.market, created_at__lt=stale).delete()
    return StatementUpload.objects.create(
        market=request.market,
        uploaded_by=request.user,
        filename=form.cleaned_data["file"].name[:200],
        data=form.data_bytes,
        header=list(needed.header),
        encoding=needed.encoding,
        delimiter=needed.delimiter,
    )


@staff_view
def bank_columns(request, upload_id: int):
    """The columns of a CSV file no known layout reads, said once for the market."""
    upload = StatementUpload.objects.filter(market=request.market, pk=upload_id).first()
    if upload is None:  # imported meanwhile (a second click), or never this market's
        messages.info(request, _("Ce fichier a déjà été importé."))
        return redirect("bank_statements", request.market.slug)
    form = ColumnsForm(request.POST or None, upload=upload, initial=_columns_known(upload))
    if request.method == "POST" and form.is_valid():
        layout_save(request.market, form.layout, request.user)
        _import(request, form.parsed, bytes(upload.data), upload.filename)
        upload.delete()
        return redirect("bank_statements", request.market.slug)
    context = {"form": form, "upload": upload}
    return render(
        request, "payments/bank_columns.html", context, status=400 if form.errors else 200
    )


def _columns_known(upload: StatementUpload) -> dict:
    saved = BankCsvLayout.objects.filter(market=upload.market).first()
    if saved is None:
        return {}
    names = ("date_column", "label_column", "amount_column", "debit_column", "credit_column")
    known = {name: getattr(saved, name) for name in names if getattr(saved, name) in upload.header}
    return known | {"date_format": saved.date_format}


def _import(request, parsed, data: bytes, filename: str) -> None:
    earlier = statement_seen(request.market, data)
    if earlier is not None:
        when = formats.date_format(timezone.localtime(earlier.imported_at), "SHORT_DATE_FORMAT")
        text = _("Ce fichier a déjà été importé le %(date)s : rien de nouveau.")
        messages.info(request, text % {"date": when})
        return
    statement, new = statement_store(
        market=request.market, parsed=parsed, data=data, filename=filename, imported_by=request.user
    )
    messages.success(
        request,
        ngettext(
            "Relevé importé : %(new)d ligne nouvelle sur %(total)d.",
            "Relevé importé : %(new)d lignes nouvelles sur %(total)d.",
            new,
        )
        % {"new": new, "total": statement.lines_in_file},
    )
    if statement.balances_agree is False:
        messages.warning(
            request,
            _(
                "Le solde d'ouverture (%(opening)s) plus les opérations (%(lines)s) ne font pas le "
                "solde de clôture du relevé (%(closing)s) : le fichier est peut-être incomplet."
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
        messages.error(request, _("Sélection invalide : rechargez la page et recommencez."))
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
            _("Rien à confirmer : ces virements sont déjà reçus ou n'ont plus de correspondance."),
        )
    return redirect("bank_statements", request.market.slug)


@post_only("bank_statements")
@staff_view
def bank_line_aside(request, line_id: int):
    """Set a bank line aside, with why: it pays no client's payment."""
    line = get_object_or_404(BankLine, market=request.market, pk=line_id)
    form = AsideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choisissez pourquoi cette opération est mise de côté."))
    elif line_standing(line):
        messages.info(request, _("Cette opération est déjà rapprochée d'un paiement."))
    else:
        aside, created = line_aside(
            line=line,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
            by=request.user,
        )
        if created and aside.transaction is not None:
            text = _("%(amount)s passés du compte « %(account)s » à la banque.")
            account = DEPOSITS[aside.reason][0].label
            messages.success(
                request, text % {"amount": format_euros(line.amount), "account": account}
            )
        elif created:
            messages.success(request, _("Opération mise de côté."))
    return redirect("bank_statements", request.market.slug)


@post_only("bank_statements")
@staff_view
def bank_line_take_back(request, line_id: int):
    """A line set aside by mistake, proposed again; its deposit reversed."""
    line = get_object_or_404(BankLine, market=request.market, pk=line_id)
    form = TakeBackForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Dites pourquoi cette opération est reprise."))
    elif line_take_back(line=line, reason=form.cleaned_data["reason"], by=request.user):
        messages.success(request, _("Opération reprise : elle est de nouveau proposée."))
    return redirect("bank_statements", request.market.slug)


ASSIGN_SHOWN = 20


@staff_view
def bank_line_assign(request, line_id: int):
    """A credit no expected payment explains, given to the client who paid it."""
    market = request.market
    line = get_object_or_404(BankLine, market=market, pk=line_id, amount__gt=0)
    if line_standing(line) or BankLineAside.objects.filter(line=line).exists():
        messages.info(request, _("Cette opération est déjà traitée."))
        return redirect("bank_statements", market.slug)
    clients = Membership.objects.filter(market=market, role=Role.CLIENT).select_related("user")
    if request.method == "POST":
        membership = get_object_or_404(clients, pk=_posted_id(request, "membership"))
        payment = line_assign(line=line, membership=membership, received_by=request.user)
        text = _("%(amount)s reçus de %(name)s, sur son compte.")
        name = membership.user.display_name
        messages.success(request, text % {"amount": format_euros(payment.amount), "name": name})
        return redirect("bank_statements", market.slug)
    query = clean_search(request.GET.get("q")) or line.payer
    found = clients.search(query).order_by("user__last_name", "user__first_name")[:ASSIGN_SHOWN]
    context = {"line": line, "query": query, "clients": found}
    return render(request, "payments/bank_assign.html", context)


def _posted_id(request, name: str) -> int:
    pk = id_from(request.POST.get(name, ""))
    if pk is None:
        raise Http404("No such client")
    return pk
