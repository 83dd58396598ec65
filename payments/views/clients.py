"""A client's account: history and the operations staff record on it."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import member_view, staff_view
from accounts.models import Membership
from cagette.money import format_euros

from ..forms import OpeningBalanceForm, PaymentForm, ReversalForm
from ..ledger import LedgerError, client_account
from ..models import Entry, Payment, PaymentMethod, PaymentStatus, Transaction
from ..services import opening_balance_record, payment_record, transaction_correct

# Methods a person records by hand; online card payments arrive through Stripe.
MANUAL_METHODS = [
    PaymentMethod.CASH,
    PaymentMethod.CHEQUE,
    PaymentMethod.TRANSFER,
    PaymentMethod.CARD_TERMINAL,
]
HISTORY_PAGE_SIZE = 50


def _get_client_for_staff(request, membership_id) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "market"), pk=membership_id, market=request.market
    )


def _get_transaction_for_client(membership, transaction_id) -> Transaction:
    return get_object_or_404(
        Transaction.objects.filter(
            market=membership.market, entries__account__membership=membership
        )
        .select_related("market")
        .distinct(),
        pk=transaction_id,
    )


def balance_sentence(held) -> str:
    """The balance in words, as the client reads it."""
    if held > 0:
        return _("Vous avez un avoir de %(amount)s.") % {"amount": format_euros(held)}
    if held < 0:
        return _("Vous devez %(amount)s au marché.") % {"amount": format_euros(-held)}
    return _("Votre compte est à jour.")


def _history_context(request, membership):
    account = client_account(membership)
    entries = Entry.objects.filter(account=account).history()
    page = Paginator(entries, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    pending = Payment.objects.filter(membership=membership, status=PaymentStatus.PENDING)
    return {
        "client": membership,
        "account": account,
        "page": page,
        "pending_payments": pending.order_by("created_at"),
    }


def _render_history(request, membership, **forms):
    context = _history_context(request, membership)
    context["opening_form"] = forms.get("opening_form") or OpeningBalanceForm()
    context["payment_form"] = forms.get("payment_form") or PaymentForm(methods=MANUAL_METHODS)
    context["reversal_form"] = forms.get("reversal_form") or ReversalForm()
    context["reversal_target"] = forms.get("reversal_target")
    status = 400 if forms else 200
    return render(request, "payments/client_history.html", context, status=status)


@staff_view
def client_history(request, membership_id):
    return _render_history(request, _get_client_for_staff(request, membership_id))


@require_POST
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


@require_POST
@staff_view
def payment_create(request, membership_id):
    client = _get_client_for_staff(request, membership_id)
    form = PaymentForm(request.POST, methods=MANUAL_METHODS)
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


@require_POST
@staff_view
def transaction_reverse(request, membership_id, transaction_id):
    client = _get_client_for_staff(request, membership_id)
    txn = _get_transaction_for_client(client, transaction_id)
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
            request, _("L'opération « %(label)s » a été annulée.") % {"label": txn.label}
        )
    return redirect("client_history", request.market.slug, client.pk)


@member_view
def my_account(request):
    context = _history_context(request, request.membership)
    context["sentence"] = balance_sentence(context["account"].held)
    return render(request, "payments/my_account.html", context)
