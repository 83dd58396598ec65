"""« Encaissements » of one distribution (under ``gestion/distributions/<id>/encaissements/``)."""

from django.urls import path

from . import cash_views

urlpatterns = [
    path("", cash_views.cash_summary, name="cash_summary"),
    path("caisse/", cash_views.cash_count, name="cash_count"),
    path("encaissements.csv", cash_views.cash_csv, name="cash_csv"),
    path("encaissements.pdf", cash_views.cash_pdf, name="cash_pdf"),
    path("bordereau-cheques.pdf", cash_views.cash_cheque_slip_pdf, name="cash_cheque_slip_pdf"),
]
