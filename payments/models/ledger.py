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
an account's cached balance (``Account.balance``, plus its `BalanceSlot`
parts for a shared account) is the sum of its entries with that same sign. So:

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
4. An account's cached balance equals the sum of its entries: updated by
   the posting service in the same database transaction, in one statement
   that locks the rows in one order (client accounts by id, then the shared
   accounts' `BalanceSlot` parts by account id: `payments.ledger.posting`),
   the same order as every other lock on accounts, so postings cannot
   deadlock; a deadlock or serialization failure left over is run again by
   `payments.ledger.retried_on_conflict`, never shown to the caller. A
   client account's cached balance is its row's ``balance``; a shared
   account's, its row's plus its parts (`BalanceSlot`).
5. Idempotency: ``(market, idempotency_key)`` is unique.
6. Balance floors are checked under a row lock on the client account, taken
   before anything is written.
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

from .. import labels

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


# How many parts a shared account's cached balance is kept in (`BalanceSlot`).
BALANCE_SLOTS = 16


class BalanceSlot(models.Model):
    """One part of a market's shared account's cached balance.

    Every posting of a method touches the market's one money account of that
    method (every order, its sales account): were its balance one row, each
    posting would wait for the one before to commit. A posting adds its
    amount to one of `BALANCE_SLOTS` parts instead, the one of its database
    connection, under that part's row lock, in the same statement as its
    entries; postings on other connections never wait on it. A shared
    account's cached balance is its row's ``balance`` plus its parts
    (`payments.ledger.account_balance`); a client account has none (its row
    is locked whole, to check its floor). ``check_ledger`` compares that sum
    with the entries.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="slots")
    slot = models.PositiveSmallIntegerField()
    balance = models.DecimalField(default=Decimal("0.00"), **MONEY)

    class Meta:
        verbose_name = _("part de solde")
        verbose_name_plural = _("parts de solde")
        constraints = [
            models.UniqueConstraint(fields=["account", "slot"], name="balance_slot_one_per_part"),
        ]

    def __str__(self):
        return f"{self.account_id}/{self.slot}"


class TransactionKind(models.TextChoices):
    ORDER = "order", _("Commande")
    ORDER_ADJUSTMENT = "order_adjustment", _("Ajustement de commande")
    PAYMENT = "payment", _("Paiement")
    REFUND = "refund", _("Remboursement")
    OPENING_BALANCE = "opening_balance", _("Reprise de solde")
    REVERSAL = "reversal", _("Annulation")
    PRODUCER_TRANSFER = "producer_transfer", _("Versement au producteur")
    DEPOSIT = "deposit", _("Remise en banque")


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
    TransactionKind.DEPOSIT: labels.deposit_wordings,
}


# The order entries are posted in: date, then transaction, then entry.
POSTING_ORDER = ("transaction__date", "transaction_id", "id")


def _transaction_related(name: str, *joined: str) -> models.Prefetch:
    """Prefetch what an entry's transaction refers to by ``name``, with ``joined``.

    The related models are looked up on `Transaction`: orders and payments
    live in apps this module does not import.
    """
    model = Transaction._meta.get_field(name).related_model
    return models.Prefetch(f"transaction__{name}", model.objects.select_related(*joined))


class EntryQuerySet(models.QuerySet):
    def history(self):
        """Entries with ``running``: the account's balance right after each one.

        Ordered newest first; the running sum is computed oldest first, in
        the order the entries were posted (date, then transaction, then entry).
        """
        return (
            # The row's transaction, its author and its reversal are joined; what
            # else it refers to comes in a few small queries, each only when some
            # row refers to something. Joining all of it (a dozen outer joins) made
            # PostgreSQL spend several milliseconds planning each page of the history.
            self.select_related("transaction__created_by", "transaction__reversal")
            .prefetch_related(
                _transaction_related("payment", "distribution", "bank_match__line"),
                _transaction_related("order", "distribution"),
                # What the labels are rendered from (`Transaction.display_label`).
                _transaction_related("reverses", "order__distribution", "payment"),
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


class LedgerCheckRun(models.Model):
    """One audit of the books by the nightly job (`payments.ledger.check_runs`).

    ``problems`` lists what drifted (up to 20 lines per check) when ``ok`` is
    false; while the latest finished run is not ok, superusers see it on
    every page.
    """

    started_at = models.DateTimeField(_("commencé le"), default=timezone.now)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)
    # The time the periodic job was due (two runs never share one).
    scheduled_for = models.DateTimeField(_("prévu pour"), null=True, blank=True)
    ok = models.BooleanField(_("sans anomalie"), default=False)
    problem_count = models.PositiveIntegerField(_("anomalies"), default=0)
    problems = models.TextField(_("détail"), blank=True, default="")

    class Meta:
        verbose_name = _("contrôle du grand livre")
        verbose_name_plural = _("contrôles du grand livre")
        ordering = ["-started_at", "-pk"]

    def __str__(self):
        return f"{self.started_at:%Y-%m-%d %H:%M} {'OK' if self.ok else self.problem_count}"
