"""« Solde des clients »: every client's balance, the market's totals, and exports.

The page and both exports read the same filtered, sorted rows
(`payments.ledger.balances`); the exports take every row, not just one page.
The CSV streams from the request; the PDF is laid out by a job
(`payments.exports`), whose page shows its progress and then the download.
"""

import csv

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts.access import staff_view
from cagette.money import format_euros, format_number
from cagette.search import SEARCH_MAX_LENGTH

from ..exports.balances import balances_filename
from ..exports.services import export_ask
from ..ledger.balances import (
    STATES,
    BalanceFilters,
    balance_rows,
    balance_totals,
    client_balances,
    page_rows,
)
from ..models import ExportKind
from ..tasks import export_balances

PAGE_SIZE = 50
# One client of the page. The colour sits on a span: Bootstrap's table cells set their own.
ROW = (
    '<tr><td><a href="{url}">{name}</a></td>'
    '<td data-label="{l_email}"><a href="mailto:{email}"'
    ' class="link-secondary link-underline-opacity-25">{email}</a></td>'
    '<td class="amount" data-label="{l_held}"><span class="{css}">{held}</span></td>'
    '<td data-label="{l_state}"><span class="badge {badge}">{state}</span></td></tr>'
)
# Spreadsheets run a cell starting with these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _sorting(filters: BalanceFilters) -> dict:
    """For each sortable column: the link that sorts by it, and its current order."""
    sorting = {}
    for column in ("nom", "solde"):
        order = {column: "ascending", f"-{column}": "descending"}.get(filters.sort, "none")
        query = filters.query_string(sort=filters.toggled_sort(column))
        sorting[column] = {"query": query, "order": order}
    return sorting


def _state_links(filters: BalanceFilters) -> list[dict]:
    choices = [(None, _("Tous"))] + [(state, state.plural) for state in STATES.values()]
    return [
        {
            "label": label,
            "query": filters.query_string(state=state),
            "active": state == filters.state,
        }
        for state, label in choices
    ]


def _rows_html(market, rows) -> SafeString:
    """The page's rows, built here: each is one `format_html`, the words and the
    history's address (the client's id last) read once per page."""
    if not rows:
        return format_html(
            '<tr><td colspan="4" class="text-muted">{}</td></tr>', _("Aucun client ne correspond.")
        )
    head = reverse("client_history", args=[market.slug, 0]).removesuffix("0/")
    # Trusted as the template trusted its own words.
    words = {"l_email": _("E-mail"), "l_held": _("Solde"), "l_state": _("État")}
    words = {key: mark_safe(word) for key, word in words.items()}
    labels = {state: str(state.label) for state in STATES.values()}
    html = []
    for row in rows:
        state = row.state
        html.append(
            format_html(
                ROW,
                url=f"{head}{row.membership_id}/",
                name=row.name,
                email=row.email,
                css=state.css,
                held=format_euros(row.held),
                badge=state.badge,
                state=labels[state],
                **words,
            )
        )
    return mark_safe("".join(html))


@staff_view
def balance_list(request):
    filters = BalanceFilters.from_query(request.GET)
    page = Paginator(client_balances(request.market, filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = page_rows(page.object_list, filters)
    context = {
        "filters": filters,
        "page": page,
        "rows": rows,
        "rows_html": _rows_html(request.market, rows),
        "totals": balance_totals(request.market),
        "query_string": filters.query_string(),
        "sorting": _sorting(filters),
        "state_links": _state_links(filters),
        "search_max_length": SEARCH_MAX_LENGTH,
    }
    return render(request, "payments/balance_list.html", context)


def _text_cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


class _Echo:
    """csv.writer writes into this and gets each line back, so lines can be streamed."""

    def write(self, value):
        return value


def _csv_lines(rows):
    writer = csv.writer(_Echo(), delimiter=";")
    # The BOM tells spreadsheet software the file is UTF-8, or accents break.
    header = [pgettext("nom de famille", "Nom"), _("Prénom"), _("E-mail"), _("Solde"), _("État")]
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow(
            [
                _text_cell(row.last_name),
                _text_cell(row.first_name),
                _text_cell(row.email),
                format_number(row.held, grouping=False),
                row.state.label,
            ]
        )


@staff_view
def balance_csv(request):
    filters = BalanceFilters.from_query(request.GET)
    rows = balance_rows(client_balances(request.market, filters), stream=True)
    response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
    filename = balances_filename(request.market, "csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff_view
def balance_pdf(request):
    """Ask for the PDF of the list as filtered: a job lays it out (`payments.tasks`)."""
    filters = BalanceFilters.from_query(request.GET)
    query = filters.query_string()
    page_url = reverse("balance_list", args=[request.market.slug]) + (f"?{query}" if query else "")
    if request.method != "POST":  # the address visited: the list it is asked from
        return redirect(page_url)
    export = export_ask(
        market=request.market,
        user=request.user,
        kind=ExportKind.BALANCES,
        params=filters.params(),
        page_url=page_url,
        task=export_balances,
    )
    return redirect("export_detail", request.market.slug, export.pk)
