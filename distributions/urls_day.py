"""Distribution day (under ``gestion/distributions/<distribution_id>/``).

The distribution's own edit page is ``gestion/distributions/<id>/``
(`distributions.urls`), so the day's pages live below it.
"""

from django.urls import path

from . import day_credit_views, day_views

BASKET = "paniers/<int:order_id>/"

urlpatterns = [
    path("validation/", day_views.day_distribution, name="day_distribution"),
    path("validation/tout-valider/", day_views.day_bulk, name="day_bulk"),
    path(BASKET, day_views.day_basket, name="day_basket"),
    path(f"{BASKET}valider/", day_views.day_basket_validate, name="day_basket_validate"),
    path(f"{BASKET}paiements/ajouter/", day_views.day_payment_add, name="day_payment_add"),
    path(
        f"{BASKET}paiements/<int:payment_id>/encaisser/",
        day_views.day_payment_receive,
        name="day_payment_receive",
    ),
    path(
        f"{BASKET}paiements/<int:payment_id>/non-paye/",
        day_views.day_payment_cancel,
        name="day_payment_cancel",
    ),
    path(f"{BASKET}rendre-la-monnaie/", day_views.day_refund, name="day_refund"),
    path(
        f"{BASKET}regler-avec-son-avoir/",
        day_credit_views.day_settle_from_credit,
        name="day_settle_from_credit",
    ),
]
