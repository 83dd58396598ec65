"""French banks' CSV exports: the presets, a layout given, and a file needing a mapping."""

import datetime
from decimal import Decimal

import pytest

from payments.bank import CSV_PRESETS, CsvLayout, CsvLayoutNeeded, ParsedLine, statement_parse

NBSP = "\u00a0"


def _line(day: int, amount: str, label: str, value_on=None) -> ParsedLine:
    return ParsedLine(
        booked_on=datetime.date(2026, 2, day),
        value_on=value_on,
        amount=Decimal(amount),
        label=label,
        bank_id="",
        payer="",
        reference="",
    )


def test_credit_agricole_debit_and_credit_columns_under_account_lines_in_cp1252():
    text = (
        "Téléchargement du 01/03/2026;\n\nCompte de Dépôt carte n° 12345678901;\n"
        "Solde au 28/02/2026 1 030,20 €\n\n"
        "Date;Libellé;Débit euros;Crédit euros;\n"
        '03/02/2026;"VIREMENT EN VOTRE FAVEUR\n HÉLÈNE DUPRÉ";;1 042,50;\n'
        "05/02/2026;PRELEVEMENT EDF;12,30;;\n\n\n"
    )
    statement = statement_parse(text.encode("cp1252"))
    assert (statement.format, statement.account, statement.currency) == ("csv", "", "EUR")
    assert (statement.opening, statement.closing) == (None, None)
    assert statement.lines == (
        _line(3, "1042.50", "VIREMENT EN VOTRE FAVEUR HÉLÈNE DUPRÉ"),
        _line(5, "-12.30", "PRELEVEMENT EDF"),
    )


def test_societe_generale_one_signed_amount_and_two_label_columns():
    text = (
        '="00012345678";Compte courant;Solde au 28/02/2026;1030,20 EUR\n\n'
        "Date de l'opération;Libellé;Détail de l'écriture;Montant de l'opération;Devise\n"
        f"03/02/2026;VIR RECU;DE: HELENE DUPRE MOTIF: CMD 17;+1{NBSP}042,50;EUR\n"
        "05/02/2026;PRLV EDF;EDF CLIENTS;-12,30;EUR\n"
    )
    statement = statement_parse(text.encode("cp1252"))
    assert statement.lines == (
        _line(3, "1042.50", "VIR RECU DE: HELENE DUPRE MOTIF: CMD 17"),
        _line(5, "-12.30", "PRLV EDF EDF CLIENTS"),
    )


def test_banque_postale_in_utf8_with_bom_and_a_closing_balance_line():
    text = (
        "Numéro Compte;0123456A020\nType;CCP\nCompte tenu en;euros\n\n"
        "Date;Libellé;Montant(EUROS)\n"
        "03/02/2026;VIREMENT DE MME DUPRE;42,50\n"
        "05/02/2026;PRELEVEMENT DE EDF;-12,30\n"
        "Solde au 28/02/2026;;1030,20\n"
    )
    statement = statement_parse("\ufeff".encode() + text.encode())
    assert statement.lines == (
        _line(3, "42.50", "VIREMENT DE MME DUPRE"),
        _line(5, "-12.30", "PRELEVEMENT DE EDF"),
    )


def test_credit_mutuel_debit_shown_negative_and_a_value_date():
    text = (
        "Date;Date de valeur;Débit;Crédit;Libellé;Solde\n"
        "03/02/2026;04/02/2026;;42,50;VIR DUPRE HELENE;1042,50\n"
        "05/02/2026;05/02/2026;-12,30;;PRLV EDF;1030,20\n"
    )
    statement = statement_parse(text.encode("utf-8"))
    assert statement.lines == (
        _line(3, "42.50", "VIR DUPRE HELENE", datetime.date(2026, 2, 4)),
        _line(5, "-12.30", "PRLV EDF", datetime.date(2026, 2, 5)),
    )


def test_bnp_paribas_column_names_without_accents():
    text = (
        "Compte de cheques;****5678;1030,20\n"
        "Date operation;Libelle court;Type operation;Libelle operation;Montant operation\n"
        "03/02/2026;VIR;VIREMENT;VIR SEPA RECU DUPRE;42,50\n"
    )
    assert statement_parse(text.encode()).lines == (_line(3, "42.50", "VIR SEPA RECU DUPRE"),)


def test_there_are_at_least_four_presets():
    assert len(CSV_PRESETS) >= 4


def test_an_unknown_layout_asks_for_a_mapping_with_the_header_found():
    text = "Export du 01/03/2026\nJour;Intitulé;Somme\n03/02/2026;VIR DUPRE;42,50\n"
    with pytest.raises(CsvLayoutNeeded, match="colonnes") as refused:
        statement_parse(text.encode("cp1252"))
    assert refused.value.header == ("Jour", "Intitulé", "Somme")
    assert (refused.value.encoding, refused.value.delimiter) == ("cp1252", ";")


def test_a_layout_given_reads_the_mapped_columns():
    layout = CsvLayout(
        name="custom",
        encoding="cp1252",
        delimiter=";",
        date_column="Jour",
        label_columns=("Intitulé",),
        amount_column="Somme",
        date_format="%d.%m.%Y",
    )
    text = "Jour;Intitulé;Somme\n03.02.2026;VIR DUPRE;-1 042,5\n"
    statement = statement_parse(text.encode("cp1252"), layout=layout)
    assert statement.lines == (_line(3, "-1042.50", "VIR DUPRE"),)
