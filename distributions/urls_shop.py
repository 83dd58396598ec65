"""The client's shop for a distribution (under ``m/<market>/distributions/``)."""

from django.urls import path

from . import shop

urlpatterns = [
    path("", shop.distribution_list, name="shop_distribution_list"),
    path("<int:distribution_id>/", shop.distribution_shop, name="distribution_shop"),
    path("<int:distribution_id>/panier/", shop.basket_review, name="basket_review"),
    path("<int:distribution_id>/paiement/", shop.checkout_payment, name="checkout_payment"),
]
