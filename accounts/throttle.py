"""What the login page says while failed logins lock a login out.

django-axes counts the failures (settings: ``AXES_*``) and, once an account or
an address is locked out, calls ``login_locked_out`` in place of the login
view's answer: the same login page, with a French message instead of a bare
error page.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .forms import LoginForm

TOO_MANY_REQUESTS = 429


def login_locked_out(request: HttpRequest, response=None, credentials=None) -> HttpResponse:
    """The login page, saying for how long logins are refused; nothing was checked."""
    context = {
        "form": LoginForm(request, initial={"username": login_username(request, credentials)}),
        "next": request.POST.get("next", ""),
        "locked_out_minutes": cooloff_minutes(),
    }
    return render(request, "accounts/login.html", context, status=TOO_MANY_REQUESTS)


def cooloff_minutes() -> int:
    return max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def login_username(request: HttpRequest, credentials: dict | None = None) -> str:
    """The account a login tries: the address typed, as the login form reads it
    (so capitals or spaces do not escape the count)."""
    typed = (credentials or {}).get("username") or request.POST.get("username") or ""
    return typed.strip().lower()
