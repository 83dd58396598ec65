"""Distributions: the day and place where clients pick up their baskets."""

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Market
from cagette.dates import window_constraint


class DistributionStatus(models.TextChoices):
    OPEN = "open", _("Ouverte aux commandes")
    CLOSED = "closed", _("Commandes closes")
    VALIDATED = "validated", _("Validée")


class DistributionQuerySet(models.QuerySet):
    def accepting_orders(self, now=None):
        now = now or timezone.now()
        return self.filter(
            status=DistributionStatus.OPEN, orders_open_at__lte=now, orders_close_at__gt=now
        )


class Distribution(models.Model):
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="distributions")
    date = models.DateField(_("date"))
    place = models.CharField(_("lieu"), max_length=200)
    starts_at = models.TimeField(_("début de la distribution"), null=True, blank=True)
    ends_at = models.TimeField(_("fin de la distribution"), null=True, blank=True)
    orders_open_at = models.DateTimeField(_("ouverture des commandes"))
    orders_close_at = models.DateTimeField(_("fermeture des commandes"))
    status = models.CharField(
        _("statut"),
        max_length=12,
        choices=DistributionStatus.choices,
        default=DistributionStatus.OPEN,
    )
    # Who last changed the status, and when (closing or reopening the orders;
    # validation by the last basket validated).
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    status_changed_by = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
    )

    objects = DistributionQuerySet.as_manager()

    class Meta:
        verbose_name = _("distribution")
        verbose_name_plural = _("distributions")
        ordering = ["-date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(orders_close_at__gt=models.F("orders_open_at")),
                name="distribution_orders_close_after_open",
            ),
            window_constraint("date", "distribution_date_in_window"),
            window_constraint(
                "orders_open_at", "distribution_orders_open_at_in_window", with_time=True
            ),
            window_constraint(
                "orders_close_at", "distribution_orders_close_at_in_window", with_time=True
            ),
        ]

    def __str__(self):
        return f"{self.date:%d/%m/%Y} — {self.place}"

    def is_open_for_orders(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.status == DistributionStatus.OPEN
            and self.orders_open_at <= now < self.orders_close_at
        )

    @property
    def state(self) -> str:
        """The status as a person reads it, the clock included: ``upcoming`` before
        orders open, ``closed`` once past their closing time even if nobody closed
        them by hand."""
        if self.status == DistributionStatus.VALIDATED:
            return "validated"
        if self.orders_closed:
            return "closed"
        return "upcoming" if timezone.now() < self.orders_open_at else "open"

    @property
    def state_label(self) -> str:
        if self.state == "upcoming":
            local = timezone.localtime(self.orders_open_at)
            return _("Commandes à venir (ouverture le %(date)s à %(time)s)") % {
                "date": local.strftime("%d/%m"),
                "time": local.strftime("%H:%M"),
            }
        labels = {"open": DistributionStatus.OPEN, "closed": DistributionStatus.CLOSED}
        return str(labels.get(self.state, DistributionStatus.VALIDATED).label)

    @property
    def state_badge(self) -> str:
        """The Bootstrap badge class of ``state``."""
        return {
            "open": "text-bg-success",
            "upcoming": "text-bg-info",
            "closed": "text-bg-warning",
        }.get(self.state, "text-bg-secondary")

    @property
    def is_validated(self) -> bool:
        return self.status == DistributionStatus.VALIDATED

    @property
    def orders_closed(self) -> bool:
        """Past the closing time, or closed by hand: only an admin changes orders now."""
        return self.status != DistributionStatus.OPEN or timezone.now() >= self.orders_close_at


class CashCount(models.Model):
    """The till of one distribution: the float at opening and the cash counted at the end."""

    distribution = models.OneToOneField(
        Distribution, on_delete=models.PROTECT, related_name="cash_count"
    )
    opening_float = models.DecimalField(
        _("fond de caisse"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    counted = models.DecimalField(
        _("espèces comptées"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("comptage de caisse")
        verbose_name_plural = _("comptages de caisse")

    def __str__(self):
        return f"Caisse — {self.distribution}"
