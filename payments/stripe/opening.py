"""Opening, checking and closing Checkout Sessions, by jobs (never in a request).

The client chooses « carte en ligne »: the request records the attempt (a
`StripeCheckout` with no session yet) and defers ``checkout_open`` in the same
transaction (`checkout_request`); the client waits on « Connexion au paiement
sécurisé… », which sends them to Stripe's page once the job has opened the
session (`checkout_session_open`). An open session asked for again (the client
came back, or clicked twice) is reused once the job has seen it still open at
Stripe (``checking``); a session that is no longer open is settled as its
webhook would settle it, and the client told where their payment stands.

Stripe failing or out of reach makes the job try again later
(`cagette.jobs.Temporary`); Stripe refusing the session marks the attempt
abandoned, with Stripe's reason (``error``): the client may try again (a new
attempt) or pay another way. The session's idempotency key names the payment
and the attempt, so a job tried again opens one session.

Back from Stripe, the return page defers ``checkout_refresh``
(`checkout_refresh`) rather than asking Stripe itself. Choosing another way to
pay closes the open sessions by a job (``checkout_expire``, `checkout_close`),
deferred in the transaction that records the new choice. The jobs of one
session hold its lock (``checkout-<pk>``): they run one at a time, in order.
"""

import logging

from django.db import transaction
from django.utils.translation import gettext as _

from cagette.i18n import stored_language
from cagette.jobs import Temporary

from ..models import CheckoutStatus, Payment, PaymentStatus, StripeCheckout
from . import gateway
from .checkout import checkout_apply, checkout_sync, latest_checkout
from .deferred import checkout_expire_defer, checkout_open_defer

logger = logging.getLogger(__name__)


def _line_label(payment: Payment) -> str:
    with stored_language():
        if payment.order_id is None:
            return payment.market.name
        order = payment.order
        return _("Panier n° %(number)s — %(market)s, distribution du %(date)s") % {
            "number": order.number,
            "market": payment.market.name,
            "date": f"{order.distribution.date:%d/%m/%Y}",
        }


# -- In the request -------------------------------------------------------------------


def checkout_request(*, payment: Payment, success_url: str, cancel_url: str):
    """The attempt the client should pay ``payment`` on, its job deferred.

    The open one (checked again at Stripe by the job), else a new attempt.
    None when there is nothing to pay there any more (paid, or on its way).
    Under the payment's lock: two clicks at once ask for one attempt.
    """
    urls = {"success_url": success_url, "cancel_url": cancel_url}
    with transaction.atomic():
        # The session's row first, then the payment's (see `payments.stripe.checkout`).
        locked = latest_checkout(payment)
        if locked is not None:
            locked = StripeCheckout.objects.select_for_update().get(pk=locked.pk)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        latest = latest_checkout(payment)  # a new attempt may have come meanwhile
        if latest is not None and latest.status == CheckoutStatus.OPEN:
            if latest == locked and latest.session_id and not latest.checking:
                latest.checking = True
                latest.save(update_fields=["checking"])
            checkout_open_defer(latest.pk, **urls)  # a no-op if one is waiting already
            return latest
        on_its_way = latest is not None and latest.status in (
            CheckoutStatus.PROCESSING,
            CheckoutStatus.PAID,
        )
        if payment.status != PaymentStatus.PENDING or on_its_way:
            return None
        checkout = StripeCheckout.objects.create(
            payment=payment,
            attempt=latest.attempt + 1 if latest else 1,
            amount=payment.amount,
        )
        checkout_open_defer(checkout.pk, **urls)
    return checkout


def checkouts_close(payment: Payment) -> None:
    """Close, by jobs, every open session of ``payment``, so that none can still be paid.

    Call inside the transaction that decides it (another way to pay chosen).
    """
    open_ = payment.stripe_checkouts.filter(status=CheckoutStatus.OPEN).order_by("pk")
    for pk in open_.values_list("pk", flat=True):
        checkout_expire_defer(pk)


# -- The jobs ---------------------------------------------------------------------------


def checkout_session_open(checkout_id: int, *, success_url: str, cancel_url: str) -> None:
    """Open the attempt's session at Stripe, or check that its session is still open."""
    checkout = StripeCheckout.objects.select_related("payment").get(pk=checkout_id)
    if checkout.status != CheckoutStatus.OPEN:
        return
    try:
        if checkout.session_id:
            checkout_sync(checkout)  # settled if no longer open
            StripeCheckout.objects.filter(pk=checkout.pk).update(checking=False)
        else:
            _session_create(checkout, success_url, cancel_url)
    except gateway.GatewayRefused as error:
        logger.warning("Stripe refused session of attempt %s: %s", checkout.pk, error)
        StripeCheckout.objects.filter(pk=checkout.pk, status=CheckoutStatus.OPEN).update(
            status=CheckoutStatus.EXPIRED, checking=False, error=str(error)[:2000] or "refused"
        )
    except gateway.GatewayError as error:
        raise Temporary(str(error)) from error


def _session_create(checkout: StripeCheckout, success_url: str, cancel_url: str) -> None:
    payment = checkout.payment
    if payment.status != PaymentStatus.PENDING:  # settled otherwise meanwhile
        StripeCheckout.objects.filter(pk=checkout.pk, session_id=None).update(
            status=CheckoutStatus.EXPIRED
        )
        return
    session = gateway.checkout_session_create(
        payment=payment,
        attempt=checkout.attempt,
        label=_line_label(payment),
        success_url=success_url,
        cancel_url=cancel_url,
    )
    with transaction.atomic():
        # The session's webhook may have come first and filled it in (`_adopt`).
        row = StripeCheckout.objects.select_for_update().get(pk=checkout.pk)
        row.session_id = row.session_id or session["id"]
        row.url = session.get("url") or row.url
        row.amount = gateway.from_cents(session.get("amount_total") or 0) or row.amount
        row.checking, row.error = False, ""
        row.save(update_fields=["session_id", "url", "amount", "checking", "error"])


def checkout_refresh(checkout_id: int) -> None:
    """Ask Stripe how the session stands and settle it (the client is back from Stripe)."""
    checkout = StripeCheckout.objects.get(pk=checkout_id)
    if checkout.status not in (CheckoutStatus.OPEN, CheckoutStatus.PROCESSING):
        return
    try:
        checkout_sync(checkout)
    except gateway.GatewayError as error:
        raise Temporary(str(error)) from error


def checkout_close(checkout_id: int) -> None:
    """Close the session at Stripe so it can no longer be paid, and settle it as it ended."""
    checkout = StripeCheckout.objects.get(pk=checkout_id)
    if checkout.status != CheckoutStatus.OPEN:
        return
    if not checkout.session_id:  # never opened (this job runs after the opening one's)
        StripeCheckout.objects.filter(pk=checkout.pk, session_id=None).update(
            status=CheckoutStatus.EXPIRED
        )
        return
    try:
        try:
            session = gateway.checkout_session_expire(checkout.session_id)
        except gateway.GatewayRefused:  # no longer open: see how it ended
            session = gateway.checkout_session_retrieve(checkout.session_id)
    except gateway.GatewayError as error:
        raise Temporary(str(error)) from error
    checkout_apply(session)
