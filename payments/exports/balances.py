"""The « Solde des clients » PDF of a whole market, laid out by a job.

The rows are turned into HTML a chunk at a time (the query streams them), then
WeasyPrint lays out the pages and draws the file; each step moves the
progress bar. Any number of clients: 2 000 take some seconds of a worker,
never of a web request.
"""

from itertools import islice

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from ..ledger.balances import BalanceFilters, balance_rows, balance_totals, client_balances
from ..models import Export
from .pdf import pdf_write
from .services import Built, Progress

CHUNK = 250
# About this many rows fit on a page: an estimate of the pages to lay out.
ROWS_PER_PAGE = 40
# The progress bar: rows to HTML up to 10 %, the layout up to 95 %, then the file.
HTML_DONE, LAYOUT_DONE = 10, 95


def balances_filename(market, extension: str) -> str:
    return f"soldes-clients-{market.slug}-{timezone.localdate():%Y-%m-%d}.{extension}"


def _rows_html(rows, total: int, progress: Progress) -> str:
    parts, done = [], 0
    while chunk := list(islice(rows, CHUNK)):
        parts.append(render_to_string("payments/pdf/_balance_rows.html", {"rows": chunk}))
        done += len(chunk)
        progress.part(0, HTML_DONE, done, total)
    return "".join(parts)


def balances_pdf(export: Export, progress: Progress) -> Built:
    """The PDF of the market's clients as filtered by ``export.params``."""
    market = export.market
    filters = BalanceFilters.from_query(export.params)
    clients = client_balances(market, filters)
    total = clients.count()
    rows_html = _rows_html(balance_rows(clients, stream=True), total, progress)
    html = render_to_string(
        "payments/pdf/balances.html",
        {
            "market": market,
            "rows_html": mark_safe(rows_html),  # noqa: S308 (rendered by our template)
            "totals": balance_totals(market),
            "filters": filters.description(),
            "now": timezone.now(),
        },
    )
    del rows_html
    pages = 1 + total // ROWS_PER_PAGE
    content = pdf_write(html, on_page=progress.per_page(HTML_DONE, LAYOUT_DONE, pages))
    return Built(content, balances_filename(market, "pdf"))
