"""Paying an order online again, or another way, under ``m/<market>/``."""

from django.urls import path

from .views import online

urlpatterns = [
    path(
        "paiement-en-ligne/<int:payment_id>/payer/",
        online.online_payment_pay,
        name="online_payment_pay",
    ),
    path(
        "paiement-en-ligne/<int:payment_id>/autre-moyen/",
        online.online_payment_change,
        name="online_payment_change",
    ),
]
