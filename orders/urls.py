"""The client's orders and the admin's change of an order (the shop that records
orders is a distribution's page: `distributions.urls_shop`)."""

from django.urls import path

from .views import adjust, my_orders

urlpatterns = [
    path("commandes/", my_orders.my_orders, name="my_orders"),
    path("commandes/<int:order_id>/", my_orders.order_detail, name="order_detail"),
    path("gestion/commandes/<int:order_id>/", adjust.order_edit, name="order_edit"),
]
