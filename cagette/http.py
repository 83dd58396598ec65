"""Small HTTP helpers shared by the apps' views."""

from functools import wraps

from django.conf import settings
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect


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
