"""Producers, and (soon) the products, distributions and orders of a market."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Market


class Producer(models.Model):
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="producers")
    name = models.CharField(_("nom"), max_length=120)
    description = models.CharField(_("description"), max_length=300, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    active = models.BooleanField(_("actif"), default=True)

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
