from django.urls import path

from .exports import views as exports
from .views import balances, bank, bank_transfers, clients, settings

urlpatterns = [
    path("clients/soldes/", balances.balance_list, name="balance_list"),
    path("clients/soldes/export.csv", balances.balance_csv, name="balance_csv"),
    path("clients/soldes/export.pdf", balances.balance_pdf, name="balance_pdf"),
    path("clients/<int:membership_id>/", clients.client_history, name="client_history"),
    path(
        "clients/<int:membership_id>/reprise-de-solde/",
        clients.opening_balance_create,
        name="opening_balance_create",
    ),
    path("clients/<int:membership_id>/paiement/", clients.payment_create, name="payment_create"),
    path(
        "clients/<int:membership_id>/operations/<int:transaction_id>/annuler/",
        clients.transaction_reverse,
        name="transaction_reverse",
    ),
    path("mon-compte/", clients.my_account, name="my_account"),
]

urlpatterns += [
    path("virements/", bank_transfers.transfer_list, name="pending_transfers"),
    path("virements/recus/", bank_transfers.transfers_received, name="transfers_received"),
    path("virements/relance/", bank_transfers.transfers_remind, name="transfers_remind"),
    path("banque/", bank.bank_statements, name="bank_statements"),
    path("banque/confirmer/", bank.bank_confirm, name="bank_confirm"),
    path("banque/colonnes/<int:upload_id>/", bank.bank_columns, name="bank_columns"),
    path("banque/lignes/<int:line_id>/confirmer/", bank.bank_confirm, name="bank_line_confirm"),
    path("banque/lignes/<int:line_id>/de-cote/", bank.bank_line_aside, name="bank_line_aside"),
    path(
        "banque/lignes/<int:line_id>/reprendre/",
        bank.bank_line_take_back,
        name="bank_line_take_back",
    ),
    path("banque/lignes/<int:line_id>/attribuer/", bank.bank_line_assign, name="bank_line_assign"),
]

urlpatterns.append(
    path("parametres/moyens-de-paiement/", settings.payment_settings, name="payment_settings")
)

urlpatterns += [
    path("exports/<int:export_id>/", exports.export_detail, name="export_detail"),
    path("exports/<int:export_id>/etat/", exports.export_status, name="export_status"),
    path("exports/<int:export_id>/telecharger/", exports.export_download, name="export_download"),
]
