"""Payments as records of their own: expected or received, and what became of them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Market, Membership, OutgoingEmail
from cagette.dates import window_constraint

from ..methods import PaymentMethod, checkout_label
from .ledger import MONEY, AccountKind, Transaction

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

    The row and its email (`accounts.OutgoingEmail`, rendered then) are written
    in the database transaction of the request that asks for it; a job
    delivers the email after commit, trying again while the mail server is
    away. The reminder's state is its email's: sent once the mail server took
    it, not sent when it was refused or given up, under way meanwhile. Only a
    sent reminder counts as a reminder. ``token`` is the one-time token of the
    form that asked for it, so the same form submitted twice reminds once (see
    `payments.bank_transfers`). ``email`` is empty only for a reminder asked
    for before emails were kept, and never sent.
    """

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="reminders")
    requested_at = models.DateTimeField(_("demandée le"), default=timezone.now)
    email = models.OneToOneField(
        OutgoingEmail,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment_reminder",
        verbose_name=_("email"),
    )
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
        return checkout_label(self.choice)
