"""The market admin's pages for producers and products (under ``gestion/``)."""

from django.urls import path

from .views import manage

urlpatterns = [
    path("producteurs/", manage.producer_list, name="producer_list"),
    path("producteurs/nouveau/", manage.producer_create, name="producer_create"),
    path("producteurs/<int:pk>/", manage.producer_edit, name="producer_edit"),
    path("produits/", manage.product_list, name="product_list"),
    path("produits/nouveau/", manage.product_create, name="product_create"),
    path("produits/<int:pk>/", manage.product_edit, name="product_edit"),
]
