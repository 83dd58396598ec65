"""The market's bank statements, as imported, and each bank line once.

A `BankStatement` is one file the treasurer imported (what it said of the
account and its balances, who imported it and when); a `BankLine` is one
movement on the market's bank account. A line is stored once per market,
whichever statement brought it first: its ``fingerprint`` is the bank's own id
of the line where the format gives one, else a digest of its date, amount and
label and of its rank among the identical lines of its statement, so the same
statement imported twice, or two statements that overlap, add nothing twice.
Statements and lines are append-only, like the ledger (migration 0023).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Market

from .ledger import MONEY


class StatementFormat(models.TextChoices):
    CAMT053 = "camt053", "CAMT.053"
    OFX = "ofx", "OFX"
    CFONB120 = "cfonb120", "CFONB 120"
    CSV = "csv", "CSV"


class BankStatement(models.Model):
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="bank_statements")
    format = models.CharField(_("format"), max_length=10, choices=StatementFormat.choices)
    filename = models.CharField(_("fichier"), max_length=200, blank=True)
    digest = models.CharField(max_length=64, help_text=_("SHA-256 du fichier importé."))
    account = models.CharField(_("compte"), max_length=64, blank=True)
    currency = models.CharField(_("devise"), max_length=3, blank=True)
    opening = models.DecimalField(_("solde d'ouverture"), null=True, blank=True, **MONEY)
    closing = models.DecimalField(_("solde de clôture"), null=True, blank=True, **MONEY)
    opening_on = models.DateField(null=True, blank=True)
    closing_on = models.DateField(null=True, blank=True)
    lines_in_file = models.PositiveIntegerField(default=0)
    lines_total = models.DecimalField(
        default=0, help_text=_("Somme des lignes du fichier."), **MONEY
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("relevé bancaire")
        verbose_name_plural = _("relevés bancaires")
        ordering = ["-imported_at", "-pk"]

    def __str__(self):
        return f"{self.get_format_display()} {self.filename} ({self.market})"

    @property
    def balances_agree(self) -> bool | None:
        """Whether the opening balance plus the lines make the closing balance
        (None when the file gives no balances to check)."""
        if self.opening is None or self.closing is None:
            return None
        return self.opening + self.lines_total == self.closing


class BankLine(models.Model):
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="bank_lines")
    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField(help_text=_("Rang de la ligne dans son relevé."))
    fingerprint = models.CharField(max_length=200)
    booked_on = models.DateField(_("date"))
    value_on = models.DateField(_("date de valeur"), null=True, blank=True)
    amount = models.DecimalField(_("montant"), **MONEY)  # credit (money in) positive
    label = models.TextField(_("libellé"))
    bank_id = models.CharField(max_length=140, blank=True)
    payer = models.CharField(_("émetteur"), max_length=140, blank=True)
    reference = models.TextField(_("référence"), blank=True)

    class Meta:
        verbose_name = _("ligne bancaire")
        verbose_name_plural = _("lignes bancaires")
        ordering = ["-booked_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["market", "fingerprint"], name="bank_line_once_per_market"
            ),
            models.CheckConstraint(condition=~models.Q(amount=0), name="bank_line_not_zero"),
        ]
        indexes = [models.Index(fields=["market", "booked_on"])]

    def __str__(self):
        return f"{self.booked_on} {self.amount} {self.label[:40]}"


class BankMatch(models.Model):
    """A bank line confirmed as the payment of an expected transfer: the line
    is then no longer proposed, and the payment is received once."""

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(BankLine, on_delete=models.PROTECT, related_name="matches")
    payment = models.OneToOneField(
        "payments.Payment", on_delete=models.PROTECT, related_name="bank_match"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("rapprochement")
        verbose_name_plural = _("rapprochements")

    def __str__(self):
        return f"{self.line_id} → {self.payment_id}"


class SetAsideReason(models.TextChoices):
    BANK_FEES = "bank_fees", _("Frais bancaires")
    CHEQUE_DEPOSIT = "cheque_deposit", _("Remise de chèques")
    CARD_SETTLEMENT = "card_settlement", _("Remise du terminal de paiement")
    PRODUCER_REFUND = "producer_refund", _("Remboursement d'un producteur")
    OTHER = "other", _("Autre")


class BankLineAside(models.Model):
    """A bank line that pays no client's payment, set aside with why: it is no
    longer proposed, and the « Banque » page lists it apart."""

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="+")
    line = models.OneToOneField(BankLine, on_delete=models.PROTECT, related_name="aside")
    reason = models.CharField(_("raison"), max_length=20, choices=SetAsideReason.choices)
    note = models.CharField(_("précision"), max_length=200, blank=True)
    # A cheque deposit or the card terminal's settlement: the money moved from
    # that account to the bank's, posted with the line's amount.
    transaction = models.OneToOneField(
        "payments.Transaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_aside",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("ligne mise de côté")
        verbose_name_plural = _("lignes mises de côté")

    def __str__(self):
        return f"{self.line_id}: {self.reason}"


class BankCsvLayout(models.Model):
    """How the market's bank writes its CSV export, once the treasurer has said
    which column is which (a layout no preset knew): used for the next files."""

    market = models.OneToOneField(Market, on_delete=models.CASCADE, related_name="bank_csv_layout")
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=1)
    date_column = models.CharField(_("colonne de la date"), max_length=100)
    label_column = models.CharField(_("colonne du libellé"), max_length=100)
    amount_column = models.CharField(_("colonne du montant"), max_length=100, blank=True)
    debit_column = models.CharField(_("colonne des débits"), max_length=100, blank=True)
    credit_column = models.CharField(_("colonne des crédits"), max_length=100, blank=True)
    date_format = models.CharField(_("format des dates"), max_length=20, default="%d/%m/%Y")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("colonnes du relevé CSV")
        verbose_name_plural = _("colonnes des relevés CSV")

    def __str__(self):
        return f"{self.market}: {self.date_column} / {self.label_column}"


class StatementUpload(models.Model):
    """A CSV file waiting for the treasurer to say which column is which: kept
    until it is imported (then deleted), never read as a statement before."""

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    filename = models.CharField(max_length=200, blank=True)
    data = models.BinaryField()
    header = models.JSONField(default=list)
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=1)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.filename} ({self.market})"
