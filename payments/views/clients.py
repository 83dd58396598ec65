"""A client's account: history and the operations staff record on it."""

from django.contrib import messages
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.access import member_view, staff_view
from accounts.models import Membership
from cagette.http import page_with_count, post_only
from cagette.money import format_euros

from ..forms import OpeningBalanceForm, PaymentForm, ReversalForm
from ..ledger import LedgerError, client_account
from ..ledger.balances import balance_sentence
from ..models import Account, Entry, Payment, PaymentMethod, PaymentStatus, Transaction
from ..services import (
    correction_refusal,
    opening_balance_record,
    payment_record,
    transaction_correct,
)
from .history_rows import HistoryRows

# Methods a person records by hand; online card payments arrive through Stripe.
MANUAL_METHODS = [
    PaymentMethod.CASH,
    PaymentMethod.CHEQUE,
    PaymentMethod.TRANSFER,
    PaymentMethod.CARD_TERMINAL,
]
HISTORY_PAGE_SIZE = 50


def _get_client_for_staff(request, membership_id) -> Membership:
    """The client of this market (404 otherwise), with their account read in the same query."""
    client = get_object_or_404(
        Membership.objects.select_related("user", "account"),
        pk=membership_id,
        market=request.market,
    )
    client.market = request.market
    return client


def _account_of(membership) -> Account:
    """The client's account: joined by `_get_client_for_staff`, else read now."""
    try:
        return membership.account
    except Account.DoesNotExist:
        return client_account(membership)


def _get_transaction_for_client(membership, transaction_id) -> Transaction:
    return get_object_or_404(
        Transaction.objects.filter(
            market=membership.market, entries__account__membership=membership
        )
        .select_related("market")
        .distinct(),
        pk=transaction_id,
    )


def _page_number(row: int) -> int:
    """The history page showing this row (rows numbered from 1, newest first)."""
    return (row - 1) // HISTORY_PAGE_SIZE + 1


def _link_operations(account, rows) -> None:
    """Give each row the links to the operation it reverses, or that reverses it.

    A reversal and its original are often on different pages of the history:
    a link to another page names that page.
    """
    here = {entry.transaction_id for entry in rows}
    targets = {}
    for entry in rows:
        txn = entry.transaction
        reversal = getattr(txn, "reversal", None)
        targets[entry.pk] = (txn.reverses_id, reversal.pk if reversal else None)
    elsewhere = {pk for pair in targets.values() for pk in pair if pk and pk not in here}
    found = Entry.objects.filter(account=account).history_rows(elsewhere) if elsewhere else {}

    def href(pk):
        if pk in found:
            return f"?page={_page_number(found[pk])}#op-{pk}"
        return f"#op-{pk}"

    for entry in rows:
        reverses, reversal = targets[entry.pk]
        entry.reverses_href = href(reverses) if reverses else ""
        entry.reversal_href = href(reversal) if reversal else ""


def _mark_correctable(rows) -> None:
    """Offer « Annuler » only where a reversal is sound (see `correction_refusal`)."""
    for entry in rows:
        txn = entry.transaction
        entry.correctable = (
            getattr(txn, "reversal", None) is None and correction_refusal(txn) is None
        )


def _history_context(request, membership, *, showing=None):
    """The history page asked for, or with ``showing``, the page holding that transaction."""
    account = _account_of(membership)
    entries = Entry.objects.filter(account=account).history()
    number = request.GET.get("page")
    if showing is not None:
        row = Entry.objects.filter(account=account).history_rows([showing.pk]).get(showing.pk)
        number = _page_number(row) if row else number
    page = page_with_count(entries, number, HISTORY_PAGE_SIZE)
    _link_operations(account, list(page))
    pending = Payment.objects.filter(membership=membership, status=PaymentStatus.PENDING)
    return {
        "client": membership,
        "account": account,
        "page": page,
        "pending_payments": pending.order_by("created_at"),
    }


def _render_history(request, membership, **forms):
    target = forms.get("reversal_target")
    context = _history_context(request, membership, showing=target)
    _mark_correctable(context["page"])
    context["opening_form"] = forms.get("opening_form") or OpeningBalanceForm()
    context["payment_form"] = forms.get("payment_form") or PaymentForm(methods=MANUAL_METHODS)
    fresh = ReversalForm()
    context["reversal_form"] = forms.get("reversal_form") or fresh
    context["reversal_target"] = target
    # Nothing was posted when a form comes back with errors: a fresh token is
    # safe, and replaces a forged or missing one.
    context["reversal_token"] = fresh.initial["form_token"]
    reversal = {
        "target": target,
        "form": context["reversal_form"],
        "token": context["reversal_token"],
        "csrf": get_token(request),
    }
    rows = HistoryRows(request, staff=True, client=membership, reversal=reversal)
    context["history_rows"] = rows.render(context["page"])
    status = 400 if forms else 200
    return render(request, "payments/client_history.html", context, status=status)


@staff_view
def client_history(request, membership_id):
    return _render_history(request, _get_client_for_staff(request, membership_id))


@post_only("client_history", "membership_id")
@staff_view
def opening_balance_create(request, membership_id):
    client = _get_client_for_staff(request, membership_id)
    form = OpeningBalanceForm(request.POST)
    if not form.is_valid():
        return _render_history(request, client, opening_form=form)
    opening_balance_record(
        membership=client,
        amount=form.cleaned_data["amount"],
        label=form.cleaned_data["label"],
        date=form.cleaned_data["date"],
        recorded_by=request.user,
        idempotency_key=form.idempotency_key(client.pk),
    )
    messages.success(
        request,
        _("Reprise de solde de %(amount)s enregistrée.")
        % {"amount": format_euros(form.cleaned_data["amount"])},
    )
    return redirect("client_history", request.market.slug, client.pk)


@post_only("client_history", "membership_id")
@staff_view
def payment_create(request, membership_id):
    client = _get_client_for_staff(request, membership_id)
    form = PaymentForm(request.POST, methods=MANUAL_METHODS, membership_id=client.pk)
    if not form.is_valid():
        return _render_history(request, client, payment_form=form)
    data = form.cleaned_data
    payment = payment_record(
        membership=client,
        method=data["method"],
        amount=data["amount"],
        paid_on=data["paid_on"],
        reference=data["reference"],
        cheque_number=data["cheque_number"],
        bank=data["bank"],
        recorded_by=request.user,
        idempotency_key=form.idempotency_key(client.pk),
    )
    messages.success(
        request,
        _("Paiement de %(amount)s (%(method)s) enregistré.")
        % {"amount": format_euros(payment.amount), "method": payment.get_method_display()},
    )
    return redirect("client_history", request.market.slug, client.pk)


@post_only("client_history", "membership_id")
@staff_view
def transaction_reverse(request, membership_id, transaction_id):
    client = _get_client_for_staff(request, membership_id)
    txn = _get_transaction_for_client(client, transaction_id)
    refusal = correction_refusal(txn)
    if refusal:
        messages.error(request, refusal)
        return redirect("client_history", request.market.slug, client.pk)
    form = ReversalForm(request.POST)
    if not form.is_valid():
        return _render_history(request, client, reversal_form=form, reversal_target=txn)
    try:
        transaction_correct(
            txn=txn,
            reason=form.cleaned_data["reason"],
            corrected_by=request.user,
            idempotency_key=form.idempotency_key(txn.pk),
        )
    except LedgerError:
        messages.error(request, _("Cette opération a déjà été annulée ou ne peut pas l'être."))
    else:
        messages.success(
            request, _("L'opération « %(label)s » a été annulée.") % {"label": txn.display_label}
        )
    return redirect("client_history", request.market.slug, client.pk)


@member_view
def my_account(request):
    context = _history_context(request, request.membership)
    context["sentence"] = balance_sentence(context["account"].held)
    context["history_rows"] = HistoryRows(request, staff=False).render(context["page"])
    return render(request, "payments/my_account.html", context)
