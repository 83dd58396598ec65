from csp.middleware import CSPMiddleware
from django.conf import settings
from django.utils import translation


class FrenchFirstLocaleMiddleware:
    """French unless the person chose another language (language switcher cookie).

    Unlike Django's LocaleMiddleware, the browser's Accept-Language is not
    followed: market volunteers share devices set up in any language.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _ in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class PagePolicyMiddleware(CSPMiddleware):
    """The Content-Security-Policy (settings: CONTENT_SECURITY_POLICY), on pages only.

    PDFs, CSV exports and static files run no page code, and Chromium's PDF
    viewer is itself an embedded object that ``object-src 'none'`` would block.
    """

    def process_response(self, request, response):
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)
