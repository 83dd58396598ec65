"""The market admin's pages for distributions (under ``gestion/distributions/``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.distribution_list, name="distribution_list"),
    path("nouvelle/", views.distribution_create, name="distribution_create"),
    path("<int:pk>/", views.distribution_edit, name="distribution_edit"),
    path("<int:pk>/fermer/", views.distribution_close, name="distribution_close"),
    path("<int:pk>/rouvrir/", views.distribution_reopen, name="distribution_reopen"),
    path(
        "<int:distribution_id>/commandes/",
        views.distribution_orders,
        name="distribution_orders",
    ),
]
