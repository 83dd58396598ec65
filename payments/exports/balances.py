"""The « Solde des clients » PDF of a whole market, laid out by a job.

The rows are turned into HTML a chunk at a time (the query streams them), then
WeasyPrint lays out the pages and draws the file; each step moves the
progress bar. Up to `ONE_LAYOUT_MAX` rows, one layout; past it, one part per
chunk, so that memory follows the pages rather than the length of one table
(bench/export_pdf.py). Parts are laid out twice: once to count their pages,
then numbered « Page n / total » as one layout would.
"""

from itertools import islice

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from ..ledger.balances import BalanceFilters, balance_rows, balance_totals, client_balances
from ..models import Export
from .pdf import pdf_document, pdf_join, pdf_write
from .services import Built, Progress

CHUNK = 500
ONE_LAYOUT_MAX = 2000
# About this many rows fit on a page: an estimate of the pages to lay out.
ROWS_PER_PAGE = 40
# The progress bar: rows to HTML up to 10 %, the layout up to 95 % (the parts'
# pages counted up to 40 %), then the file.
HTML_DONE, COUNTED, LAYOUT_DONE = 10, 40, 95


def balances_filename(market, extension: str) -> str:
    return f"soldes-clients-{market.slug}-{timezone.localdate():%Y-%m-%d}.{extension}"


def _chunks_html(rows, total: int, progress: Progress) -> list[str]:
    chunks, done = [], 0
    while chunk := list(islice(rows, CHUNK)):
        chunks.append(render_to_string("payments/pdf/_balance_rows.html", {"rows": chunk}))
        done += len(chunk)
        progress.part(0, HTML_DONE, done, total)
    return chunks


def _html(context: dict, rows_html: str, *, first: bool, first_page=1, pages=None) -> str:
    """The page head and totals on the ``first`` part only; ``pages``: the total, if known."""
    return render_to_string(
        "payments/pdf/balances.html",
        {
            **context,
            "rows_html": mark_safe(rows_html),  # noqa: S308 (rendered by our template)
            "first_part": first,
            "first_page": first_page,
            "pages_total": pages,
        },
    )


def _one_layout(context: dict, chunks: list[str], total: int, progress: Progress) -> bytes:
    html = _html(context, "".join(chunks), first=True)
    pages = 1 + total // ROWS_PER_PAGE
    return pdf_write(html, on_page=progress.per_page(HTML_DONE, LAYOUT_DONE, pages))


def _part_pages(progress: Progress, start: float, end: float, i: int, parts: int):
    """An ``on_page`` for part ``i`` of ``parts``, within ``start``–``end`` %."""
    share = (end - start) / parts
    return progress.per_page(start + share * i, start + share * (i + 1), CHUNK // ROWS_PER_PAGE)


def _layout_in_parts(context: dict, chunks: list[str], progress: Progress) -> bytes:
    counts, parts = [], len(chunks)
    for i, chunk in enumerate(chunks):
        on_page = _part_pages(progress, HTML_DONE, COUNTED, i, parts)
        counts.append(len(pdf_document(_html(context, chunk, first=i == 0), on_page=on_page).pages))
    documents, first_page = [], 1
    for i, (chunk, count) in enumerate(zip(chunks, counts, strict=True)):
        html = _html(context, chunk, first=i == 0, first_page=first_page, pages=sum(counts))
        documents.append(
            pdf_document(html, on_page=_part_pages(progress, COUNTED, LAYOUT_DONE, i, parts))
        )
        first_page += count
    return pdf_join(documents)


def balances_pdf(export: Export, progress: Progress) -> Built:
    """The PDF of the market's clients as filtered by ``export.params``."""
    market = export.market
    filters = BalanceFilters.from_query(export.params)
    clients = client_balances(market, filters)
    total = clients.count()
    chunks = _chunks_html(balance_rows(clients, stream=True), total, progress)
    context = {
        "market": market,
        "totals": balance_totals(market),
        "filters": filters.description(),
        "now": timezone.now(),
    }
    if total <= ONE_LAYOUT_MAX:
        content = _one_layout(context, chunks, total, progress)
    else:
        content = _layout_in_parts(context, chunks, progress)
    return Built(content, balances_filename(market, "pdf"))
