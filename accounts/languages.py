"""The person's language: chosen with the switcher, kept on their `User`.

The site reads the language cookie (`cagette.middleware`); these views also
record the choice on the person, so that emails sent to them later (by
another person's action, in another language) are written in it, and so that
logging in on another device brings it back.
"""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.views.i18n import set_language

from cagette.i18n import supported_language

from .services import user_language_set


def language_choose(request):
    """Django's `set_language`, which also stores the choice of a signed-in person."""
    response = set_language(request)
    language = supported_language(request.POST.get("language"))
    if request.method == "POST" and language and request.user.is_authenticated:
        user_language_set(user=request.user, language=language)
    return response


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    # The same cookie as Django's `set_language` writes.
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class LoginView(auth_views.LoginView):
    """Logging in brings back the person's language, or keeps the one just chosen."""

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        stored = supported_language(user.language)
        if stored:
            _set_language_cookie(response, stored)
        else:
            chosen = supported_language(self.request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
            if chosen:
                user_language_set(user=user, language=chosen)
        return response
