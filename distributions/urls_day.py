"""Distribution day (under ``gestion/distributions/<distribution_id>/``).

The distribution's own edit page is ``gestion/distributions/<id>/``
(`distributions.urls`), so the day's pages live below it.
"""

from django.urls import path

from .day import bulk_views, credit_views, payment_views, views

BASKET = "paniers/<int:order_id>/"

urlpatterns = [
    path("validation/", views.day_distribution, name="day_distribution"),
    path("validation/tout-valider/", bulk_views.day_bulk, name="day_bulk"),
    path(BASKET, views.day_basket, name="day_basket"),
    path(f"{BASKET}valider/", payment_views.day_basket_validate, name="day_basket_validate"),
    path(f"{BASKET}paiements/ajouter/", payment_views.day_payment_add, name="day_payment_add"),
    path(
        f"{BASKET}paiements/<int:payment_id>/encaisser/",
        payment_views.day_payment_receive,
        name="day_payment_receive",
    ),
    path(
        f"{BASKET}paiements/<int:payment_id>/non-paye/",
        payment_views.day_payment_cancel,
        name="day_payment_cancel",
    ),
    path(f"{BASKET}rendre-la-monnaie/", payment_views.day_refund, name="day_refund"),
    path(
        f"{BASKET}regler-avec-son-avoir/",
        credit_views.day_settle_from_credit,
        name="day_settle_from_credit",
    ),
]
