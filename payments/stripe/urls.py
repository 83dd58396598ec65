"""Online card payment pages under ``m/<market>/`` (Stripe's webhook is at the site root)."""

from django.urls import path

from . import views

urlpatterns = [
    path(
        "paiement-en-ligne/<int:payment_id>/",
        views.online_payment_return,
        name="online_payment_return",
    ),
    path(
        "paiement-en-ligne/<int:payment_id>/payer/",
        views.online_payment_pay,
        name="online_payment_pay",
    ),
    path(
        "paiement-en-ligne/<int:payment_id>/autre-moyen/",
        views.online_payment_change,
        name="online_payment_change",
    ),
    path(
        "gestion/distributions/<int:distribution_id>/paniers/<int:order_id>/"
        "paiements/<int:payment_id>/rembourser/",
        views.online_refund,
        name="online_refund",
    ),
]
