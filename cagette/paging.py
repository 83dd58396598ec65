"""One page of a list, with the list's length read in the same query.

Django's `Paginator` counts the rows first, then reads the page: two queries.
For a query that reads every row anyway before it can give the first one (a
client's history computes a running balance over all of its entries), the
count costs nothing more as a column of the page's rows, ``COUNT(*) OVER ()``:
`page_with_count` reads both at once. Elsewhere (a list sorted by an index and
cut to a page) the separate count stays cheaper, and `Paginator` stays.
"""

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window

TOTAL = "page_list_length"


def page_with_count(queryset: QuerySet, number, per_page: int) -> Page:
    """``Paginator(queryset, per_page).get_page(number)``, in one query when it can.

    A page past the end, or a page number that is not a plain positive
    integer, goes the `Paginator` way (it shows the last page, or the first).
    """
    paginator = Paginator(queryset, per_page)
    text = "1" if number is None else str(number)
    if not text.isdigit() or int(text) < 1:
        return paginator.get_page(number)
    page_number = int(text)
    start = (page_number - 1) * per_page
    rows = list(queryset.annotate(**{TOTAL: Window(Count("*"))})[start : start + per_page])
    if rows:
        paginator.count = getattr(rows[0], TOTAL)
    elif page_number == 1:
        paginator.count = 0
    else:
        return paginator.get_page(number)
    return paginator._get_page(rows, page_number, paginator)
