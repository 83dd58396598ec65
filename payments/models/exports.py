"""Exports built by a job: a PDF asked for on a page, then downloaded from it.

A long export (« Solde des clients » of a whole market, the Encaissements of a
busy day) is not laid out in the web request: the page records an `Export`
and defers its job in the same transaction, the job builds the file, writes
its progress on the row as it goes and stores the file with Django's default
storage (under MEDIA_ROOT, never served as is: the download view checks the
market and the role). Files older than a day are deleted by a periodic job.

The row is shared by the apps that export (the Encaissements are
distributions', they name their kind here by its string only).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Market


class ExportKind(models.TextChoices):
    BALANCES = "balances", _("Solde des clients")
    CASH = "cash", _("Encaissements")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("En attente")
    RUNNING = "running", _("En cours")
    DONE = "done", _("Prêt")
    FAILED = "failed", _("Échec")


# Asked for and not finished yet: asking again for the same file reuses it.
ACTIVE = (ExportStatus.QUEUED, ExportStatus.RUNNING)


class Export(models.Model):
    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("export"), max_length=20, choices=ExportKind.choices)
    # What the page showed: the filters, the distribution (see each kind's job).
    params = models.JSONField(default=dict, blank=True)
    # The page it was asked from, where its progress page leads back.
    page_url = models.CharField(max_length=500, blank=True)
    # The language of the person who asked: the file speaks it.
    language = models.CharField(max_length=10, default="fr")
    status = models.CharField(
        _("état"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("avancement"), default=0)
    file = models.FileField(upload_to="exports/", blank=True)
    filename = models.CharField(max_length=200, blank=True)
    error = models.TextField(_("erreur"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        constraints = [
            # A double click, or two tabs: one job for the same file.
            models.UniqueConstraint(
                fields=["market", "requested_by", "kind", "params"],
                condition=Q(status__in=ACTIVE),
                name="export_one_active_per_request",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="export_progress_max"),
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (ExportStatus.DONE, ExportStatus.FAILED)
