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
        "paiement-en-ligne/<int:payment_id>/connexion/",
        views.online_payment_wait,
        name="online_payment_wait",
    ),
    path(
        "gestion/distributions/<int:distribution_id>/encaissements/versements/"
        "<int:transfer_id>/reessayer/",
        views.payout_retry,
        name="payout_retry",
    ),
    path(
        "gestion/distributions/<int:distribution_id>/paniers/<int:order_id>/"
        "paiements/<int:payment_id>/rembourser/",
        views.online_refund,
        name="online_refund",
    ),
]
