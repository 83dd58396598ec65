"""The Encaissements PDF of one distribution, laid out by a job (`distributions.tasks`).

Reading the figures is quick (`summary_read`, a few queries); laying out a
day of 500 baskets takes WeasyPrint a few seconds, which the job spends and
reports page by page (`payments.exports` keeps the row and the file).
"""

from django.template.loader import render_to_string
from django.utils import timezone

from payments.exports.pdf import pdf_write
from payments.exports.services import Built, Progress
from payments.models import Export

from ..models import Distribution
from .summary import summary_read

# About this many table rows fit on a page: an estimate of the pages to lay out.
ROWS_PER_PAGE = 35
# The progress bar: the figures read up to 10 %, the layout up to 95 %, then the file.
READ_DONE, LAYOUT_DONE = 10, 95


def cash_filename(prefix: str, distribution: Distribution, extension: str) -> str:
    return f"{prefix}-{distribution.market.slug}-{distribution.date:%Y-%m-%d}.{extension}"


def cash_summary_pdf(export: Export, progress: Progress) -> Built:
    """The Encaissements of the distribution ``export.params["distribution_id"]``."""
    distribution = Distribution.objects.select_related("market").get(
        pk=export.params["distribution_id"], market=export.market
    )
    context = {"market": export.market, "summary": summary_read(distribution)}
    html = render_to_string(
        "distributions/cash/pdf/summary.html", {**context, "now": timezone.now()}
    )
    progress(READ_DONE)
    pages = 1 + html.count("<tr") // ROWS_PER_PAGE
    content = pdf_write(html, on_page=progress.per_page(READ_DONE, LAYOUT_DONE, pages))
    return Built(content, cash_filename("encaissements", distribution, "pdf"))
