"""An export's page (its progress, then « Télécharger »), its JSON status, its download.

Staff of the market only, whoever of them asked for it; an export of another
market does not exist here (404). The file is read from the storage by the
download view: MEDIA_ROOT is never served.
"""

from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.access import staff_view

from ..models import Export, ExportStatus

# How often the page asks how far the export is (milliseconds), and without script.
POLL_MS = 1000
REFRESH_SECONDS = 3


def _get_export_for_staff(request, export_id) -> Export:
    return get_object_or_404(Export, pk=export_id, market=request.market)


def _status(export: Export) -> dict:
    return {
        "status": export.status,
        "progress": export.progress,
        "finished": export.finished,
    }


@staff_view
def export_detail(request, export_id):
    export = _get_export_for_staff(request, export_id)
    context = {
        "export": export,
        "poll_ms": POLL_MS,
        "refresh_seconds": REFRESH_SECONDS,
        "done": export.status == ExportStatus.DONE,
        "failed": export.status == ExportStatus.FAILED,
    }
    return render(request, "payments/export.html", context)


@staff_view
def export_status(request, export_id):
    export = _get_export_for_staff(request, export_id)
    response = JsonResponse(_status(export))
    response["Cache-Control"] = "no-store"
    return response


@staff_view
def export_download(request, export_id):
    export = _get_export_for_staff(request, export_id)
    if export.status != ExportStatus.DONE:
        return redirect("export_detail", request.market.slug, export.pk)
    try:
        file = export.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    return FileResponse(
        file, as_attachment=True, filename=export.filename, content_type="application/pdf"
    )
