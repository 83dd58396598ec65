"""« Encaissements » of one distribution (under ``gestion/distributions/<id>/encaissements/``)."""

from django.urls import path

from .cash import views

urlpatterns = [
    path("", views.cash_summary, name="cash_summary"),
    path("caisse/", views.cash_count, name="cash_count"),
    path("encaissements.csv", views.cash_csv, name="cash_csv"),
    path("encaissements.pdf", views.cash_pdf, name="cash_pdf"),
    path("bordereau-cheques.pdf", views.cash_cheque_slip_pdf, name="cash_cheque_slip_pdf"),
]
