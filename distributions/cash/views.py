"""« Encaissements »: the cash-in summary of one distribution, the till, and their exports.

Every page and export reads the same figures (`distributions.cash`).
"""

import csv
import io

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import staff_view
from cagette.http import post_only
from cagette.money import format_number

from ..models import Distribution
from .forms import CashCountForm
from .lines import cash_lines
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


def _filename(prefix: str, distribution: Distribution, extension: str) -> str:
    return f"{prefix}-{distribution.market.slug}-{distribution.date:%Y-%m-%d}.{extension}"


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
    filename = _filename("encaissements", distribution, "csv")
    return _attachment(text, "text/csv; charset=utf-8", filename)


def _pdf(template: str, context: dict) -> bytes:
    # WeasyPrint loads Pango and fonts on import: only the PDF exports pay for it.
    from weasyprint import HTML

    html = render_to_string(template, {**context, "now": timezone.now()})
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


@staff_view
def cash_pdf(request, distribution_id):
    distribution = _get_distribution_for_staff(request, distribution_id)
    context = {"market": request.market, "summary": summary_read(distribution)}
    pdf = _pdf("distributions/cash/pdf/summary.html", context)
    return _attachment(pdf, "application/pdf", _filename("encaissements", distribution, "pdf"))


@staff_view
def cash_cheque_slip_pdf(request, distribution_id):
    distribution = _get_distribution_for_staff(request, distribution_id)
    context = {"market": request.market, "distribution": distribution}
    context["slip"] = cheque_slip(distribution)
    pdf = _pdf("distributions/cash/pdf/cheque_slip.html", context)
    filename = _filename("bordereau-cheques", distribution, "pdf")
    return _attachment(pdf, "application/pdf", filename)
