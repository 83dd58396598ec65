from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from accounts.languages import language_choose
from cagette.views import market_home
from payments.stripe.views import stripe_webhook

urlpatterns = [
    path("favicon.ico", lambda request: redirect(static("favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    # Django's language switcher, also recording the choice on the person.
    path("i18n/setlang/", language_choose, name="set_language"),
    path("", include("accounts.urls")),
    path("m/<slug:market_slug>/", market_home, name="market_home"),
    path("stripe/webhook/", stripe_webhook, name="stripe_webhook"),
    path("m/<slug:market_slug>/", include("payments.urls")),
    path("m/<slug:market_slug>/", include("payments.stripe.urls")),
    path("m/<slug:market_slug>/", include("orders.urls_online")),
    path("m/<slug:market_slug>/distributions/", include("distributions.urls_shop")),
    path("m/<slug:market_slug>/", include("orders.urls")),
    path("m/<slug:market_slug>/gestion/", include("orders.urls_manage")),
    path(
        "m/<slug:market_slug>/gestion/distributions/<int:distribution_id>/encaissements/",
        include("distributions.urls_cash"),
    ),
    path(
        "m/<slug:market_slug>/gestion/distributions/<int:distribution_id>/",
        include("distributions.urls_day"),
    ),
    path("m/<slug:market_slug>/gestion/distributions/", include("distributions.urls")),
]
