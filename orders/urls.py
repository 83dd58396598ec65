from django.urls import path

from .views import adjust, checkout

urlpatterns = [
    path("distributions/", checkout.distribution_list, name="shop_distribution_list"),
    path(
        "distributions/<int:distribution_id>/",
        checkout.distribution_shop,
        name="distribution_shop",
    ),
    path(
        "distributions/<int:distribution_id>/panier/",
        checkout.basket_review,
        name="basket_review",
    ),
    path(
        "distributions/<int:distribution_id>/paiement/",
        checkout.checkout_payment,
        name="checkout_payment",
    ),
    path("commandes/", checkout.my_orders, name="my_orders"),
    path("commandes/<int:order_id>/", checkout.order_detail, name="order_detail"),
    path(
        "gestion/distributions/<int:distribution_id>/commandes/",
        adjust.distribution_orders,
        name="distribution_orders",
    ),
    path("gestion/commandes/<int:order_id>/", adjust.order_edit, name="order_edit"),
]
