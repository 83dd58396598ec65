"""Asking for an export, building it in a job, and forgetting it a day later.

`export_ask` records the export and defers its job in one transaction (the
outbox rule); asking again for the same file while it is being built returns
the same export. A kind's job calls `export_build` with the function that
makes the file: the frame claims the row, lets that function report its
progress, stores the file and marks it done, or records the failure. A job
given back after its worker died builds the file again from the start.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone, translation

from accounts.models import Market, User
from cagette.jobs import defer

from ..models import EXPORT_ACTIVE, Export, ExportStatus

logger = logging.getLogger(__name__)

# Files are kept this long, then deleted with their row (`exports_purge`).
KEPT_FOR = timedelta(days=1)


@dataclass(frozen=True)
class Built:
    content: bytes
    filename: str


class Progress:
    """Writes how far an export is on its row (0–99: 100 is for the stored file).

    Only a step forward is written, so a builder may report as often as it likes.
    """

    def __init__(self, export_id: int):
        self.export_id, self.shown = export_id, 0

    def __call__(self, percent: float) -> None:
        percent = max(0, min(int(percent), 99))
        if percent > self.shown:
            Export.objects.filter(pk=self.export_id, status=ExportStatus.RUNNING).update(
                progress=percent
            )
            self.shown = percent

    def part(self, start: float, end: float, done: int, total: int) -> None:
        """``done`` of ``total`` units of the part of the work between ``start`` and ``end`` %."""
        self(start + (end - start) * min(done, total) / max(total, 1))

    def per_page(self, start: float, end: float, pages: int) -> Callable[[int], None]:
        """An ``on_page`` for `payments.exports.pdf.pdf_write`: page n of about ``pages``."""
        return lambda page: self.part(start, end, page, pages)


def export_ask(
    *, market: Market, user: User, kind: str, params: dict, page_url: str, task
) -> Export:
    """The export of ``kind`` with ``params``, queued with ``task`` unless already under way."""
    with transaction.atomic():
        export, created = Export.objects.get_or_create(
            market=market,
            requested_by=user,
            kind=kind,
            params=params,
            status__in=EXPORT_ACTIVE,
            defaults={"language": translation.get_language() or "fr", "page_url": page_url},
        )
        if created:
            defer(task, export_id=export.pk)
    return export


def export_build(export_id: int, build: Callable[[Export, Progress], Built]) -> None:
    """Build the file of export ``export_id`` with ``build``; nothing if done already."""
    claimed = Export.objects.filter(pk=export_id, status__in=EXPORT_ACTIVE).update(
        status=ExportStatus.RUNNING, progress=0
    )
    if not claimed:
        return  # built already, failed for good, or purged
    export = Export.objects.select_related("market", "requested_by").get(pk=export_id)
    try:
        with translation.override(export.language):
            built = build(export, Progress(export_id))
    except Exception as error:
        logger.exception("Export %s (%s) failed", export_id, export.kind)
        Export.objects.filter(pk=export_id).update(
            status=ExportStatus.FAILED,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
        raise
    export.file.save(f"{export.pk}-{export.kind}.pdf", ContentFile(built.content), save=False)
    Export.objects.filter(pk=export_id).update(
        status=ExportStatus.DONE,
        progress=100,
        file=export.file.name,
        filename=built.filename,
        finished_at=timezone.now(),
    )


def exports_purge(*, now=None) -> int:
    """Delete the exports asked for more than a day ago, their files, and stray files.

    A stray file is one whose export is gone or points elsewhere: a job whose
    worker died after storing it builds the file again under another name.
    """
    limit = (now or timezone.now()) - KEPT_FOR
    old = Export.objects.filter(created_at__lt=limit).exclude(
        status=ExportStatus.RUNNING  # its job is alive, or will be given back
    )
    for export in old.exclude(file="").iterator():
        export.file.delete(save=False)
    deleted, _by_model = old.delete()
    _strays_delete(limit)
    return deleted


def _strays_delete(limit) -> None:
    folder = Export._meta.get_field("file").upload_to.rstrip("/")
    if not default_storage.exists(folder):
        return
    kept = set(Export.objects.exclude(file="").values_list("file", flat=True))
    for name in default_storage.listdir(folder)[1]:
        path = f"{folder}/{name}"
        if path not in kept and default_storage.get_modified_time(path) < limit:
            default_storage.delete(path)
