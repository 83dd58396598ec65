"""Small HTTP helpers shared by the apps' views."""

import logging
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect

from .ids import id_from, is_id


def post_only(page: str, *names: str):
    """Like ``require_POST``, but a visit to the address sends the person back to ``page``.

    A form that did not validate is shown again at the address it was posted
    to; reloading it, or switching the language from there, then asks for that
    address. Instead of a bare « 405 », the person lands on the page the form
    lives on: the URL pattern ``page``, given the request's ``market_slug`` and
    the keyword arguments ``names`` of this address.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method == "POST":
                return view(request, *args, **kwargs)
            if request.method in ("GET", "HEAD"):
                wanted = ("market_slug", *names)
                return redirect(page, **{key: kwargs[key] for key in wanted if key in kwargs})
            return HttpResponseNotAllowed(["POST"])

        return wrapper

    return decorator


def client_ip(request) -> str:
    """The client's address: behind ``TRUSTED_PROXY_COUNT`` proxies, the one the
    farthest trusted proxy saw (so a client cannot pick theirs by sending its own
    X-Forwarded-For); otherwise, or without the header, the socket's address."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if proxies > 0 and forwarded:
        return forwarded[-min(proxies, len(forwarded))]
    return request.META.get("REMOTE_ADDR", "")


# -- One page of a list, with the list's length in the same query ---------------------
#
# Django's `Paginator` counts the rows first, then reads the page: two queries.
# For a query that reads every row anyway before it can give the first one (a
# client's history computes a running balance over all of its entries), the
# count costs nothing more as a column of the page's rows, ``COUNT(*) OVER ()``:
# `page_with_count` reads both at once. Elsewhere (a list sorted by an index and
# cut to a page) the separate count stays cheaper, and `Paginator` stays.

TOTAL = "page_list_length"


def page_with_count(queryset: QuerySet, number, per_page: int) -> Page:
    """``Paginator(queryset, per_page).get_page(number)``, in one query when it can.

    A page past the end, or a page number that is not a plain positive
    integer, goes the `Paginator` way (it shows the last page, or the first).
    """
    paginator = Paginator(queryset, per_page)
    page_number = id_from("1" if number is None else str(number))
    if page_number is None or not is_id(page_number * per_page):
        return paginator.get_page(number)  # past any row the database could hold, too
    start = (page_number - 1) * per_page
    rows = list(queryset.annotate(**{TOTAL: Window(Count("*"))})[start : start + per_page])
    if rows:
        paginator.count = getattr(rows[0], TOTAL)
    elif page_number == 1:
        paginator.count = 0
    else:
        return paginator.get_page(number)
    return paginator._get_page(rows, page_number, paginator)


# -- Nothing slow or external inside a web request -------------------------------------

_IN_REQUEST: ContextVar[bool] = ContextVar("in_web_request", default=False)
_logger = logging.getLogger(__name__)


class WebRequestScope:
    """Middleware marking the time a web request is served (see `outside_requests`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _IN_REQUEST.set(True)
        try:
            return self.get_response(request)
        finally:
            _IN_REQUEST.reset(token)


class CalledFromRequest(RuntimeError):
    """A mail server or Stripe spoken to while a web request is served."""


def outside_requests(what: str) -> None:
    """Say so loudly when ``what`` (a call to Stripe, an email sent) happens in a web
    request: such work belongs to a job (`cagette.jobs`). Under DEBUG and the tests
    it is an error, so that no page ever comes to wait on another service; in
    production it is logged and goes on, rather than fail the person's page."""
    if not _IN_REQUEST.get():
        return
    if settings.DEBUG or settings.TESTING:
        raise CalledFromRequest(f"{what} during a web request: defer a job instead")
    _logger.error("%s during a web request: it should be a job", what)
