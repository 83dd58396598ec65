"""« Encaissements »: the cash-in summary of one distribution, the till, and their exports.

Every page and export reads the same figures (`distributions.cash`). The
Encaissements PDF is laid out by a job (`distributions.tasks`): the button asks
for it and leads to its page in `payments.exports`, which shows the progress
and then the download; the CSV and the cheque slip are quick and stay here.
"""

import csv
import io

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import staff_view
from cagette.http import post_only
from cagette.money import format_number
from payments.exports.pdf import pdf_write
from payments.exports.services import export_ask
from payments.models import ExportKind

from ..models import Distribution
from ..tasks import export_cash
from .forms import CashCountForm
from .lines import cash_lines
from .pdf import cash_filename
from .summary import summary_read
from .till import Till, cash_count_record
from .totals import cheque_slip

# Spreadsheets run a cell starting with these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _get_distribution_for_staff(request, distribution_id) -> Distribution:
    return get_object_or_404(
        Distribution.objects.select_related("market"), pk=distribution_id, market=request.market
    )


def _count_form(till: Till) -> CashCountForm:
    """Shows what was recorded, so the person sees what they are changing."""
    if not till.recorded:
        return CashCountForm()
    return CashCountForm(initial={"opening_float": till.opening_float, "counted": till.counted})


def _render_summary(request, distribution, form=None, status=200):
    summary = summary_read(distribution)
    context = {
        "distribution": distribution,
        "summary": summary,
        "form": form or _count_form(summary.till),
    }
    return render(request, "distributions/cash/summary.html", context, status=status)


@staff_view
def cash_summary(request, distribution_id):
    distribution = _get_distribution_for_staff(request, distribution_id)
    return _render_summary(request, distribution)


@post_only("cash_summary", "distribution_id")
@staff_view
def cash_count(request, distribution_id):
    distribution = _get_distribution_for_staff(request, distribution_id)
    form = CashCountForm(request.POST)
    if not form.is_valid():
        return _render_summary(request, distribution, form, status=400)
    cash_count_record(
        distribution=distribution,
        counted_by=request.user,
        opening_float=form.cleaned_data["opening_float"],
        counted=form.cleaned_data["counted"],
    )
    messages.success(request, _("Caisse enregistrée."))
    return redirect("cash_summary", request.market.slug, distribution.pk)


# -- Exports ------------------------------------------------------------------------


def _attachment(content, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _text_cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _csv_row(line) -> list[str]:
    at = timezone.localtime(line.at).strftime("%d/%m/%Y %H:%M") if line.at else ""
    return [
        at,
        line.kind,
        line.method,
        _text_cell(line.client),
        str(line.basket or ""),
        format_number(line.amount, grouping=False),
        _text_cell(line.cheque_number),
        _text_cell(line.bank),
        _text_cell(line.reference),
    ]


def _csv_text(lines) -> str:
    out = io.StringIO()
    # The BOM tells spreadsheet software the file is UTF-8, or accents break.
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        [
            _("Date"),
            _("Opération"),
            _("Moyen de paiement"),
            _("Client"),
            _("Panier"),
            _("Montant"),
            _("N° de chèque"),
            _("Banque"),
            _("Référence"),
        ]
    )
    writer.writerows(map(_csv_row, lines))
    return out.getvalue()


@staff_view
def cash_csv(request, distribution_id):
    distribution = _get_distribution_for_staff(request, distribution_id)
    text = _csv_text(cash_lines(distribution))
    filename = cash_filename("encaissements", distribution, "csv")
    return _attachment(text, "text/csv; charset=utf-8", filename)


def _pdf(template: str, context: dict) -> bytes:
    return pdf_write(render_to_string(template, {**context, "now": timezone.now()}))


@staff_view
def cash_pdf(request, distribution_id):
    """Ask for the Encaissements PDF: a job lays it out (`distributions.tasks`)."""
    distribution = _get_distribution_for_staff(request, distribution_id)
    if request.method != "POST":  # the address visited: the page it is asked from
        return redirect("cash_summary", request.market.slug, distribution.pk)
    export = export_ask(
        market=request.market,
        user=request.user,
        kind=ExportKind.CASH,
        params={"distribution_id": distribution.pk},
        page_url=reverse("cash_summary", args=[request.market.slug, distribution.pk]),
        task=export_cash,
    )
    return redirect("export_detail", request.market.slug, export.pk)


@staff_view
def cash_cheque_slip_pdf(request, distribution_id):
    distribution = _get_distribution_for_staff(request, distribution_id)
    context = {"market": request.market, "distribution": distribution}
    context["slip"] = cheque_slip(distribution)
    pdf = _pdf("distributions/cash/pdf/cheque_slip.html", context)
    filename = cash_filename("bordereau-cheques", distribution, "pdf")
    return _attachment(pdf, "application/pdf", filename)
