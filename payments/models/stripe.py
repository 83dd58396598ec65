"""What Stripe told us and what we asked it: sessions, refunds, events, payouts."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .ledger import MONEY, Transaction
from .records import Payment

# -- Online card payments (Stripe Checkout) ----------------------------------------


class CheckoutStatus(models.TextChoices):
    """Where a Stripe Checkout Session stands, as far as we know.

    It only moves forward: open → processing → paid or failed; open → expired.
    """

    OPEN = "open", _("En attente du paiement")
    PROCESSING = "processing", _("Paiement en cours de traitement")
    PAID = "paid", _("Payé")
    FAILED = "failed", _("Paiement refusé")
    EXPIRED = "expired", _("Abandonné")


class StripeCheckoutQuerySet(models.QuerySet):
    def paid_for(self, payment_id: int) -> "StripeCheckoutQuerySet":
        """The session whose money the received payment ``payment_id`` records."""
        return self.filter(received_payment_id=payment_id, status=CheckoutStatus.PAID).order_by(
            "pk"
        )


class StripeCheckout(models.Model):
    """One Stripe Checkout Session opened to pay a pending online `Payment`.

    A payment may need several (a new attempt after a failed or expired one);
    the attempt number names the idempotency key of the session's creation,
    so a request sent twice never opens two sessions. ``received_payment`` is
    the payment that records this session's money once paid: the one it was
    opened for, or an extra one when that one was settled meanwhile (the
    money did arrive; it stays on the client's balance). ``refunded`` is what
    Stripe has confirmed as refunded, and posted to the ledger.

    The row is written when the client asks to pay, before the session exists:
    a job opens it (``session_id`` empty until then; ``error``: why Stripe
    refused it). ``checking``: the client asked for this open session again,
    and the job has not yet seen it still open at Stripe.
    """

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="stripe_checkouts")
    attempt = models.PositiveSmallIntegerField(default=1)
    session_id = models.CharField(  # noqa: DJ001  (None: not opened yet; unique otherwise)
        max_length=255, unique=True, null=True, blank=True
    )
    url = models.URLField(max_length=2000, blank=True)
    checking = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    amount = models.DecimalField(_("montant"), **MONEY)
    status = models.CharField(
        _("statut"), max_length=12, choices=CheckoutStatus.choices, default=CheckoutStatus.OPEN
    )
    payment_intent = models.CharField(max_length=255, blank=True, db_index=True)
    received_payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refunded = models.DecimalField(_("remboursé"), default=Decimal("0.00"), **MONEY)
    # The charge that took the money: transfers to producers name it as their
    # source, so they can be sent before the money is available.
    charge_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = StripeCheckoutQuerySet.as_manager()

    class Meta:
        verbose_name = _("session de paiement en ligne")
        verbose_name_plural = _("sessions de paiement en ligne")
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "attempt"], name="stripe_checkout_one_session_per_attempt"
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="stripe_checkout_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(refunded__gte=0) & Q(refunded__lte=models.F("amount")),
                name="stripe_checkout_refunded_within_amount",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"{self.session_id} ({self.get_status_display()})"


class RefundStatus(models.TextChoices):
    """Where a refund stands at Stripe. It only moves forward (requested → pending
    → succeeded → failed: a card refund may still fail after it succeeded)."""

    # Sent, but Stripe's answer was lost: it may have made the refund.
    REQUESTED = "requested", _("Réponse de Stripe attendue")
    PENDING = "pending", _("En cours")
    SUCCEEDED = "succeeded", _("Effectué")
    FAILED = "failed", _("Échoué")


class StripeRefund(models.Model):
    """A refund of an online payment: asked by an admin from the basket page, or
    made in Stripe's dashboard (``requested_by`` empty) and learnt from Stripe.

    The ledger is not touched when it is asked: it is posted when Stripe
    confirms it (``posted``), once, and that posting is reversed, once, if the
    refund fails afterwards. `StripeCheckout.refunded` is their running total.
    """

    checkout = models.ForeignKey(
        StripeCheckout, on_delete=models.PROTECT, related_name="refund_requests"
    )
    amount = models.DecimalField(_("montant"), **MONEY)
    posted = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=120, unique=True)
    refund_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        _("statut"), max_length=12, choices=RefundStatus.choices, default=RefundStatus.REQUESTED
    )
    # Stripe's own words when it refused the request, or when its answer was
    # lost (the job tries again); for the logs and the Django admin only.
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(default=timezone.now, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("remboursement en ligne")
        verbose_name_plural = _("remboursements en ligne")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="stripe_refund_amount_positive"),
            models.UniqueConstraint(
                fields=["refund_id"], condition=~Q(refund_id=""), name="stripe_refund_id_unique"
            ),
        ]

    def __str__(self):
        return f"{self.refund_id or self.idempotency_key}: {self.amount}"

    @property
    def status_label(self) -> str:
        """Where it stands, as the basket page says it: Stripe's answer to the request
        may say « succeeded », but until its event confirms it (and the ledger
        follows) it is only asked, not done."""
        if self.status == RefundStatus.REQUESTED and not self.refund_id and not self.error:
            return _("en attente de Stripe")
        if self.status in (RefundStatus.PENDING, RefundStatus.SUCCEEDED) and not self.posted:
            return _("demandé, en attente de confirmation")
        return self.get_status_display()


class StripeEvent(models.Model):
    """A webhook event from Stripe, stored once (its id is unique) and applied once.

    The webhook stores the row and defers the job that applies it in one
    database transaction, then answers Stripe at once; a redelivered event
    finds its row and defers nothing. The job sets ``applied_at`` under the
    row's lock, in the transaction of the event's effects (see
    `payments.stripe.webhooks`). ``attempts`` and ``last_error`` tell the
    tries that had to wait (Stripe unreachable, a refund whose payment is not
    known as paid yet) and why one could never be applied.
    """

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True, db_index=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now, editable=False)
    applied_at = models.DateTimeField(_("appliqué le"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("essais"), default=0)
    last_error = models.TextField(_("dernière erreur"), blank=True, default="")

    class Meta:
        verbose_name = _("événement Stripe")
        verbose_name_plural = _("événements Stripe")

    def __str__(self):
        return f"{self.event_id} {self.type}"


class RejectedStripeEvent(models.Model):
    """A correctly signed webhook event that can never be handled: shaped unlike
    Stripe's events (NUL characters, NaN, wrong types), or at odds with our
    records (a refund larger than its session). Refused with a 400, nothing
    else written; kept here, one row per event id, for an admin to look into.
    """

    event_id = models.CharField(max_length=255, blank=True, db_index=True)
    type = models.CharField(max_length=100, blank=True)
    reason = models.TextField()
    payload = models.TextField(help_text=_("Tel que reçu (caractères NUL remplacés, tronqué)."))
    deliveries = models.PositiveIntegerField(default=1)
    received_at = models.DateTimeField(default=timezone.now, editable=False)
    last_received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("événement Stripe refusé")
        verbose_name_plural = _("événements Stripe refusés")

    def __str__(self):
        return f"{self.event_id or '?'} {self.type}"


class ProducerTransferStatus(models.TextChoices):
    PENDING = "pending", _("En attente")
    SENT = "sent", _("Envoyé")
    FAILED = "failed", _("Échoué")
    REFUSED = "refused", _("Refusé par Stripe")
    CANCELLED = "cancelled", _("Annulé (remboursé)")


class TransferReversalStatus(models.TextChoices):
    NONE = "", _("Aucune")
    PENDING = "pending", _("En attente")
    SENT = "sent", _("Effectuée")
    FAILED = "failed", _("Échouée")
    REFUSED = "refused", _("Refusée par Stripe")


class ProducerTransfer(models.Model):
    """A producer's share of an online payment, sent to their connected Stripe account.

    Written, with its ledger posting, in the database transaction that settles
    the payment; Stripe is called after commit (status pending → sent, failed
    (tried again later), refused (undone in the ledger), or cancelled when a
    refund left nothing to send). One per payment and producer: a replayed
    event finds it.

    A refund takes back part of it: ``reversed`` (of ``amount``) and
    ``reversed_commission`` are what the ledger took back so far. Before the
    transfer is sent, that is simply not sent (``sent_amount`` is what was);
    after, Stripe is asked for a transfer reversal, ``reversed_at_stripe``
    being what it confirmed.
    """

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="producer_transfers"
    )
    producer = models.ForeignKey(
        "orders.Producer", on_delete=models.PROTECT, related_name="stripe_transfers"
    )
    destination = models.CharField(max_length=255)
    share = models.DecimalField(_("part du producteur"), **MONEY)
    commission = models.DecimalField(_("commission du marché"), **MONEY)
    amount = models.DecimalField(_("montant versé"), **MONEY)
    status = models.CharField(
        _("statut"),
        max_length=12,
        choices=ProducerTransferStatus.choices,
        default=ProducerTransferStatus.PENDING,
    )
    transfer_id = models.CharField(max_length=255, blank=True)
    # The charge funding the transfer, kept from the first attempt on (every
    # attempt resends the same parameters); None until then.
    source_transaction = models.CharField(  # noqa: DJ001  (None: not decided, "": no charge)
        max_length=255, blank=True, null=True, default=None
    )
    error = models.TextField(blank=True)
    transaction = models.OneToOneField(
        Transaction, on_delete=models.PROTECT, related_name="producer_transfer"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_amount = models.DecimalField(_("montant envoyé"), null=True, blank=True, **MONEY)
    reversed = models.DecimalField(_("repris"), default=Decimal("0.00"), **MONEY)
    reversed_commission = models.DecimalField(
        _("commission rendue"), default=Decimal("0.00"), **MONEY
    )
    reversed_at_stripe = models.DecimalField(
        _("repris chez Stripe"), default=Decimal("0.00"), **MONEY
    )
    reversal_status = models.CharField(
        _("reprise"),
        max_length=12,
        blank=True,
        choices=TransferReversalStatus.choices,
        default=TransferReversalStatus.NONE,
    )
    reversal_id = models.CharField(max_length=255, blank=True, default="")
    reversal_error = models.TextField(blank=True, default="")
    # Calls whose outcome was unknown (a 5xx, a timeout), each later followed by
    # a new idempotency key once Stripe is seen not to have made it: Stripe
    # replays a saved 500 for its key, and forgets keys after 24 hours.
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    reversal_attempts = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("versement à un producteur")
        verbose_name_plural = _("versements aux producteurs")
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "producer"], name="producer_transfer_once_per_payment"
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="producer_transfer_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(commission__gte=0), name="producer_transfer_commission_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reversed__gte=0) & Q(reversed__lte=models.F("amount")),
                name="producer_transfer_reversed_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(reversed_commission__gte=0)
                & Q(reversed_commission__lte=models.F("commission")),
                name="producer_transfer_reversed_commission_within_commission",
            ),
        ]

    def __str__(self):
        return f"{self.producer_id} ← {self.amount} (#{self.payment_id})"

    @property
    def idempotency_key(self) -> str:
        return f"transfer-{self.payment_id}-{self.producer_id}"
