"""The ledger: accounts, transactions and entries, in double entry.

Design overview
===============
Each market keeps its own books. An `Account` belongs to one market: one
client account per membership, plus the market's money accounts (cash box,
cheques to deposit, bank, card terminal, online payments) and its sales and
opening-balance accounts. A `Transaction` is one journal entry; its `Entry`
rows move amounts between accounts.

Sign convention
---------------
``Entry.amount`` is **positive for a debit and negative for a credit**, and
``Account.balance`` is the sum of its entries with that same sign. So:

* an order debits the client account (+) and credits sales (−);
* a received payment debits a money account (+) and credits the client (−).

A client account's ``balance`` is therefore what the client *owes* (positive)
or is owed (negative). What people see is the opposite, what the client
*holds*: positive = « avoir » (credit), negative = debt, zero = « à jour ».
`Account.held` is the one conversion, used by every page, export and email.

Invariants (see DESIGN.md) and where they are enforced
------------------------------------------------------
1. Every transaction sums to zero: `payments.ledger.transaction_post`, and on
   PostgreSQL a deferred constraint trigger checked at commit.
2. Append-only: triggers reject UPDATE, DELETE and TRUNCATE of entries and
   transactions (TRUNCATE of accounts too), and an entry added to a
   transaction created by an earlier database transaction (migration 0012).
   Mistakes are corrected by a reversal (`Transaction.reverses`, one-to-one,
   so a transaction is reversed at most once).
3. Amounts are `Decimal` with 2 places; a CHECK constraint forbids zero.
4. ``Account.balance`` equals the sum of its entries: updated by the posting
   service in the same database transaction, under row locks taken in id
   order; a deadlock or serialization failure left over is run again by
   `payments.ledger.retried_on_conflict`, never shown to the caller.
5. Idempotency: ``(market, idempotency_key)`` is unique.
6. Balance floors are checked under the same locks.
7. Every transaction records ``created_by`` and ``created_at``;
   ``manage.py check_ledger`` verifies 1, 3 and 4, that each reversal mirrors
   its original, and that each payment and order agrees with its postings.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Market, Membership
from cagette.dates import window_constraint

from . import labels
from .methods import PaymentMethod

MONEY = {"max_digits": 14, "decimal_places": 2}


class AccountKind(models.TextChoices):
    CLIENT = "client", _("Compte client")
    CASH = "cash", _("Caisse (espèces)")
    CHEQUES = "cheques", _("Chèques à remettre")
    BANK = "bank", _("Banque")
    CARD_TERMINAL = "card_terminal", _("Terminal de paiement (TPE)")
    ONLINE = "online", _("Paiements en ligne (Stripe)")
    SALES = "sales", _("Ventes")
    OPENING = "opening", _("Reprises de solde")


class Account(models.Model):
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="ledger_accounts")
    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    membership = models.OneToOneField(
        Membership,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="account",
    )
    producer = models.ForeignKey(
        "orders.Producer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sales_accounts",
        help_text=_("Pour les comptes de ventes tenus par producteur."),
    )
    name = models.CharField(max_length=200)
    balance = models.DecimalField(default=Decimal("0.00"), **MONEY)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("compte")
        verbose_name_plural = _("comptes")
        constraints = [
            models.UniqueConstraint(
                fields=["market", "kind"],
                condition=~Q(kind__in=["client", "sales"]),
                name="account_one_system_account_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind="client", membership__isnull=False)
                | (~Q(kind="client") & Q(membership__isnull=True)),
                name="account_client_iff_membership",
            ),
            models.UniqueConstraint(
                fields=["market", "producer"],
                condition=Q(kind="sales"),
                name="account_one_sales_account_per_producer",
            ),
            models.UniqueConstraint(
                fields=["market"],
                condition=Q(kind="sales", producer__isnull=True),
                name="account_one_general_sales_account",
            ),
            models.CheckConstraint(
                condition=Q(producer__isnull=True) | Q(kind="sales"),
                name="account_producer_only_on_sales",
            ),
        ]
        indexes = [models.Index(fields=["market", "kind", "balance"])]

    def __str__(self):
        return f"{self.name} ({self.market})"

    @property
    def held(self) -> Decimal:
        """What the client holds: positive = credit (avoir), negative = debt."""
        return -self.balance


class TransactionKind(models.TextChoices):
    ORDER = "order", _("Commande")
    ORDER_ADJUSTMENT = "order_adjustment", _("Ajustement de commande")
    PAYMENT = "payment", _("Paiement")
    REFUND = "refund", _("Remboursement")
    OPENING_BALANCE = "opening_balance", _("Reprise de solde")
    REVERSAL = "reversal", _("Annulation")
    PRODUCER_TRANSFER = "producer_transfer", _("Versement au producteur")


class Transaction(models.Model):
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(max_length=20, choices=TransactionKind.choices)
    label = models.CharField(_("libellé"), max_length=200)
    date = models.DateField(_("date"), default=timezone.localdate)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("enregistré par"),
    )
    # NULL, not "": many transactions have no key, and NULLs never collide.
    idempotency_key = models.CharField(max_length=120, null=True, blank=True)  # noqa: DJ001
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversal",
        verbose_name=_("annule"),
    )
    reason = models.TextField(_("motif"), blank=True)
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transactions",
        verbose_name=_("commande"),
    )

    class Meta:
        verbose_name = _("opération")
        verbose_name_plural = _("opérations")
        constraints = [
            models.UniqueConstraint(
                fields=["market", "idempotency_key"], name="transaction_idempotency_key_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False)
                | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="transaction_reversal_iff_reverses",
            ),
            window_constraint("date", "transaction_date_in_window"),
        ]
        indexes = [models.Index(fields=["market", "date"])]

    def __str__(self):
        return f"#{self.pk} {self.label}"

    @property
    def display_label(self) -> str:
        """The label in the reader's language; ``label`` stays the audit text.

        See `payments.labels`: rendered from the kind and what the
        transaction refers to, or the stored label when it is free text.
        """
        wordings_of = LABEL_WORDINGS.get(self.kind)
        return labels.display_label(self, wordings_of(self)) if wordings_of else self.label


LABEL_WORDINGS: dict[str, labels.WordingsOf] = {
    TransactionKind.ORDER: labels.order_wordings,
    TransactionKind.ORDER_ADJUSTMENT: labels.adjustment_wordings,
    TransactionKind.PAYMENT: labels.payment_wordings,
    TransactionKind.REFUND: labels.refund_wordings,
    TransactionKind.OPENING_BALANCE: labels.opening_wordings,
    TransactionKind.REVERSAL: labels.reversal_wordings,
    TransactionKind.PRODUCER_TRANSFER: labels.producer_transfer_wordings,
}


# The order entries are posted in: date, then transaction, then entry.
POSTING_ORDER = ("transaction__date", "transaction_id", "id")


class EntryQuerySet(models.QuerySet):
    def history(self):
        """Entries with ``running``: the account's balance right after each one.

        Ordered newest first; the running sum is computed oldest first, in
        the order the entries were posted (date, then transaction, then entry).
        """
        return (
            self.select_related(
                "transaction__created_by",
                "transaction__payment__distribution",
                # What the labels are rendered from (`Transaction.display_label`).
                "transaction__reverses__order__distribution",
                "transaction__reverses__payment",
                "transaction__reversal",
                "transaction__order__distribution",
            )
            .annotate(
                running=models.Window(
                    models.Sum("amount"),
                    order_by=[models.F(field).asc() for field in POSTING_ORDER],
                )
            )
            .order_by(*(f"-{field}" for field in POSTING_ORDER))
        )

    def history_rows(self, transaction_ids) -> dict[int, int]:
        """Each transaction's row number in `history()` (1 is the newest row).

        One query, whatever the number of transactions: the pages a history
        links to are found without reading the pages in between. A row's
        number is one more than the rows listed before it, those posted after it.
        """
        same_account = Q(account=models.OuterRef("account"))
        same_date = Q(transaction__date=models.OuterRef("transaction__date"))
        same_transaction = Q(transaction_id=models.OuterRef("transaction_id"))
        newer = self.filter(
            same_account
            & (
                Q(transaction__date__gt=models.OuterRef("transaction__date"))
                | (same_date & Q(transaction_id__gt=models.OuterRef("transaction_id")))
                | (same_transaction & Q(pk__gt=models.OuterRef("pk")))
            )
        )
        count = newer.order_by().values("account").annotate(n=models.Count("pk")).values("n")
        rows = (
            self.filter(transaction_id__in=transaction_ids)
            .annotate(newer=Coalesce(models.Subquery(count), 0))
            .values_list("transaction_id", "newer")
        )
        found: dict[int, int] = {}
        for transaction_id, newer_rows in rows:
            found[transaction_id] = min(newer_rows + 1, found.get(transaction_id, newer_rows + 1))
        return found


class Entry(models.Model):
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.DecimalField(**MONEY)

    objects = EntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("écriture")
        verbose_name_plural = _("écritures")
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_not_zero"),
        ]
        indexes = [models.Index(fields=["account", "transaction"])]

    def __str__(self):
        return f"{self.account.name}: {self.amount}"

    @property
    def debit(self) -> Decimal | None:
        return self.amount if self.amount > 0 else None

    @property
    def credit(self) -> Decimal | None:
        return -self.amount if self.amount < 0 else None

    @property
    def held_after(self) -> Decimal:
        """What the client held right after this entry (rows from `history()` only)."""
        return -self.running


# Where received money sits, per method.
METHOD_ACCOUNT = {
    PaymentMethod.CASH: AccountKind.CASH,
    PaymentMethod.CHEQUE: AccountKind.CHEQUES,
    PaymentMethod.TRANSFER: AccountKind.BANK,
    PaymentMethod.CARD_TERMINAL: AccountKind.CARD_TERMINAL,
    PaymentMethod.ONLINE_CARD: AccountKind.ONLINE,
}


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("À recevoir")
    RECEIVED = "received", _("Reçu")
    CANCELLED = "cancelled", _("Annulé")


class Payment(models.Model):
    """What a client said they would pay, or what was received.

    Only received money is in the ledger (``transaction``); a pending payment
    is an expectation shown beside the balance.
    """

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="payments")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(_("moyen de paiement"), max_length=20, choices=PaymentMethod.choices)
    amount = models.DecimalField(_("montant"), **MONEY)
    status = models.CharField(
        _("statut"), max_length=12, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    reference = models.CharField(_("référence"), max_length=80, blank=True)
    cheque_number = models.CharField(_("numéro de chèque"), max_length=40, blank=True)
    bank = models.CharField(_("banque"), max_length=80, blank=True)
    paid_on = models.DateField(_("date du paiement"), default=timezone.localdate)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    transaction = models.OneToOneField(
        Transaction, on_delete=models.PROTECT, null=True, blank=True, related_name="payment"
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    distribution = models.ForeignKey(
        "distributions.Distribution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
    )

    class Meta:
        verbose_name = _("paiement")
        verbose_name_plural = _("paiements")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=~Q(status="received") | Q(transaction__isnull=False),
                name="payment_received_has_transaction",
            ),
            models.CheckConstraint(
                condition=~Q(status="received") | ~Q(method="on_site"),
                name="payment_received_method_known",
            ),
            window_constraint("paid_on", "payment_paid_on_in_window"),
        ]

    def __str__(self):
        return f"{self.get_method_display()} {self.amount} ({self.get_status_display()})"


class PaymentReminder(models.Model):
    """A reminder emailed to a client about a payment still expected (a transfer).

    The row is written first, in the database transaction of the request that
    asks for it, and the email goes out after commit; ``sent_at`` is set once
    the mail server has taken the email. A row without ``sent_at`` is a
    reminder asked for but not sent: it does not count as a reminder, and
    ``failed_at`` tells a send that failed (the same form sent again tries
    once more) from one still under way. ``token`` is the one-time token of
    the form that asked for it, so the same form submitted twice reminds once
    (see `payments.transfers`).
    """

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="reminders")
    requested_at = models.DateTimeField(_("demandée le"), default=timezone.now)
    sent_at = models.DateTimeField(_("envoyée le"), null=True, blank=True)
    failed_at = models.DateTimeField(_("échec d'envoi le"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # NULL, not "": reminders recorded without a form never collide.
    token = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001

    class Meta:
        verbose_name = _("relance")
        verbose_name_plural = _("relances")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "token"], name="payment_reminder_once_per_form"
            ),
        ]

    def __str__(self):
        return f"Relance du {self.requested_at:%d/%m/%Y} — paiement #{self.payment_id}"


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
    """

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="stripe_checkouts")
    attempt = models.PositiveSmallIntegerField(default=1)
    session_id = models.CharField(max_length=255, unique=True)
    url = models.URLField(max_length=2000, blank=True)
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
        if self.status in (RefundStatus.PENDING, RefundStatus.SUCCEEDED) and not self.posted:
            return _("demandé, en attente de confirmation")
        return self.get_status_display()


class StripeEvent(models.Model):
    """A webhook event from Stripe, stored once: its id is unique.

    The row is written in the same database transaction as the event's
    effects, so an event whose handling failed is not recorded and Stripe's
    next delivery handles it again.
    """

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True, db_index=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now, editable=False)

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


class PaymentRechoice(models.Model):
    """A client chose again how to pay what an online payment was for (it failed,
    expired, or they changed their mind): once per payment.

    ``payment`` is the new pending payment; none when the client chose to pay
    from their balance (« cagnotte »).
    """

    replaced = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="rechoice")
    choice = models.CharField(_("nouveau choix"), max_length=20)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    chosen_at = models.DateTimeField(default=timezone.now, editable=False)
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("nouveau choix de paiement")
        verbose_name_plural = _("nouveaux choix de paiement")

    def __str__(self):
        return f"#{self.replaced_id} → {self.choice}"

    @property
    def choice_label(self) -> str:
        from .methods import checkout_label

        return checkout_label(self.choice)


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
