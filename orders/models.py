"""Producers, products, and the clients' orders (one basket per distribution).

An order is a record that changes as the client adds products; the ledger
never does. Each change of an order's total is posted as a new transaction
for the difference (see `orders.checkout`).
"""

from decimal import Decimal

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import npgettext

from accounts.models import Market, Membership
from cagette.money import round_cents
from payments.methods import checkout_label, staff_label
from payments.models import Payment, PaymentStatus

MONEY = {"max_digits": 12, "decimal_places": 2}

stripe_account_validator = RegexValidator(
    r"^acct_[A-Za-z0-9]{1,250}$",
    _("Un identifiant de compte Stripe commence par « acct_ », suivi de lettres et de chiffres."),
    code="stripe_account",
)


class Producer(models.Model):
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="producers")
    name = models.CharField(_("nom"), max_length=120)
    description = models.CharField(_("description"), max_length=300, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    active = models.BooleanField(_("actif"), default=True)
    # A connected Stripe account: the producer's share of online payments is
    # transferred to it (see `payments.stripe.payouts`).
    stripe_account_id = models.CharField(
        _("compte Stripe connecté"),
        max_length=255,
        blank=True,
        validators=[stripe_account_validator],
        help_text=_(
            "Par exemple acct_1A2b3C4d5E6f7G8h. Renseigné, la part de ce producteur dans les "
            "paiements en ligne lui est versée directement par Stripe, moins la commission "
            "du marché. Laissé vide, le marché le paie comme avant."
        ),
    )

    class Meta:
        verbose_name = _("producteur")
        verbose_name_plural = _("producteurs")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["market", "name"], name="producer_unique_name_per_market"
            )
        ]

    def __str__(self):
        return self.name


class Unit(models.TextChoices):
    PIECE = "piece", _("pièce")
    KG = "kg", _("kg")
    LITRE = "litre", _("litre")
    BUNCH = "bunch", _("botte")
    BASKET = "basket", _("panier")

    @classmethod
    def counted(cls, unit: str, quantity) -> str:
        """The unit as written after ``quantity``: « 2 pièces », « 1 pièce », « 1,5 kg »."""
        count = int(quantity) if quantity == int(quantity) else 2
        forms = {
            cls.PIECE: npgettext("unité", "pièce", "pièces", count),
            cls.LITRE: npgettext("unité", "litre", "litres", count),
            cls.BUNCH: npgettext("unité", "botte", "bottes", count),
            cls.BASKET: npgettext("unité", "panier", "paniers", count),
        }
        return forms.get(unit) or str(cls(unit).label)

    @classmethod
    def whole(cls) -> set[str]:
        """Units sold by whole numbers only."""
        return {cls.PIECE, cls.BUNCH, cls.BASKET}


class ProductQuerySet(models.QuerySet):
    def available(self):
        return self.filter(active=True, producer__active=True)


class Product(models.Model):
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="products")
    producer = models.ForeignKey(Producer, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(_("nom"), max_length=150)
    unit = models.CharField(_("unité"), max_length=10, choices=Unit.choices, default=Unit.PIECE)
    unit_price = models.DecimalField(_("prix unitaire"), **MONEY)
    active = models.BooleanField(_("en vente"), default=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        verbose_name = _("produit")
        verbose_name_plural = _("produits")
        ordering = ["producer__name", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(unit_price__gt=0), name="product_price_positive"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def sold_by_whole_units(self) -> bool:
        return self.unit in Unit.whole()


class CheckoutMode(models.TextChoices):
    """How the market took payment when the basket was last checked out.

    Kept on the order: the market may change its settings later, and the
    order still reads as it was taken (an order taken in cagnotte mode is not
    « payé avec votre cagnotte » once the mode is off).
    """

    CHOICE = "choice", _("le client choisit son paiement")
    CAGNOTTE_MODE = "cagnotte_mode", _("mode cagnotte du marché")
    UNMANAGED = "unmanaged", _("paiements non gérés par le marché")


def order_reference(day, number: int) -> str:
    """What a client writes on a transfer or a cheque: ``2026-12-04-0042``."""
    return f"{day:%Y-%m-%d}-{number:04d}"


class Order(models.Model):
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="orders")
    distribution = models.ForeignKey(
        "distributions.Distribution", on_delete=models.PROTECT, related_name="orders"
    )
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="orders")
    number = models.PositiveIntegerField(_("numéro de panier"))
    # Fixed when the order is created (see `save`): the client may already
    # have written it on a transfer or a cheque when the distribution moves.
    reference = models.CharField(_("référence"), max_length=30, editable=False)
    total = models.DecimalField(_("montant"), default=Decimal("0.00"), **MONEY)
    payment_method = models.CharField(_("paiement choisi"), max_length=20, blank=True)
    checkout_mode = models.CharField(
        _("mode de paiement à la commande"),
        max_length=20,
        choices=CheckoutMode.choices,
        default=CheckoutMode.CHOICE,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    # Validated at the pickup: the basket is then locked (corrections by reversal).
    validated_at = models.DateTimeField(_("validé le"), null=True, blank=True)
    validated_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("commande")
        verbose_name_plural = _("commandes")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["distribution", "membership"], name="order_one_basket_per_distribution"
            ),
            models.UniqueConstraint(fields=["market", "number"], name="order_number_unique"),
            models.UniqueConstraint(fields=["market", "reference"], name="order_reference_unique"),
        ]

    def __str__(self):
        return f"Panier n° {self.number}"

    def save(self, *args, **kwargs):
        """Fix the reference on the first save; moving the distribution never changes it."""
        if not self.reference:
            self.reference = order_reference(self.distribution.date, self.number)
        super().save(*args, **kwargs)

    @property
    def is_validated(self) -> bool:
        return self.validated_at is not None

    @property
    def in_cagnotte_mode(self) -> bool:
        """Whether the basket was taken under the market's cagnotte mode."""
        return self.checkout_mode == CheckoutMode.CAGNOTTE_MODE

    @property
    def accepts_additions(self) -> bool:
        """The client may still add products: orders are open and the market has not
        validated the basket (a basket can be validated before orders close)."""
        return not self.is_validated and self.distribution.is_open_for_orders()

    @property
    def payment_choice_label(self) -> str:
        return checkout_label(self.payment_method)

    @property
    def payment_choice_staff_label(self) -> str:
        """The client's choice as the market's staff read it (« payé avec son solde »)."""
        return staff_label(self.payment_method)

    def next_payment_reference(self) -> str:
        """The reference for a new expected payment of this order.

        The first one uses the order's reference; a complement gets ``-2``,
        ``-3``…, so that no two payments still counted on (pending or
        received) share the reference a client writes on a transfer. A
        cancelled payment's reference is free again: the payment that
        replaces it takes it. Call it under the order's row lock.
        """
        taken = set(
            Payment.objects.filter(market_id=self.market_id, reference__startswith=self.reference)
            .exclude(status=PaymentStatus.CANCELLED)
            .values_list("reference", flat=True)
        )
        if self.reference not in taken:
            return self.reference
        suffix = 2
        while f"{self.reference}-{suffix}" in taken:
            suffix += 1
        return f"{self.reference}-{suffix}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantité"), max_digits=9, decimal_places=3)
    unit_price = models.DecimalField(_("prix unitaire"), **MONEY)

    class Meta:
        verbose_name = _("ligne de commande")
        verbose_name_plural = _("lignes de commande")
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="order_line_unique_product"),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.product}"

    @property
    def amount(self) -> Decimal:
        return round_cents(self.quantity * self.unit_price)


class OrderMoney(models.Model):
    """Per order, the sums `orders.money` reads, each computed once: a database view.

    ``received`` and ``pending`` sum the order's received and expected payments;
    ``refunded`` sums the client's side of the refunds tied to the order, a
    refund later reversed left out. The view (migration 0009) has one row per
    order, zeros where nothing was paid; it aggregates each order's payments and
    refunds on their own, so a page of baskets reads them once per basket
    rather than once per figure that uses them.
    """

    order = models.OneToOneField(
        Order, on_delete=models.DO_NOTHING, primary_key=True, related_name="money"
    )
    received = models.DecimalField(max_digits=14, decimal_places=2)
    pending = models.DecimalField(max_digits=14, decimal_places=2)
    refunded = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        managed = False
        db_table = "orders_order_money"

    def __str__(self):
        return f"Argent du panier {self.order_id}"
