"""The rules that tell which expected transfer a bank credit pays."""

from decimal import Decimal

import pytest

from payments.bank.matching import (
    CHECK,
    RECEIVED,
    SURE,
    UNKNOWN,
    Credit,
    Expected,
    match,
    names_agree,
    references_in,
)

MARIE = Expected(1, "2026-12-08-0012", Decimal("25.00"), "Marie", "Dupont")
PAUL = Expected(2, "2026-12-08-0013", Decimal("18.40"), "Paul", "Martin")
ZOE = Expected(3, "2026-11-26-0005", Decimal("31.20"), "Zoé", "Lefèvre")
ZOE_MORE = Expected(4, "2026-11-26-0005-2", Decimal("4.10"), "Zoé", "Lefèvre")
INES = Expected(5, "2026-12-08-0020", Decimal("12.00"), "Inès", "Petit", received=True)
INES_MORE = Expected(6, "2026-12-08-0020-2", Decimal("3.00"), "Inès", "Petit")
EXPECTED = [MARIE, PAUL, ZOE, ZOE_MORE, INES, INES_MORE]


def credit(amount: str, text: str, payer: str = "", line_id: int = 1) -> Credit:
    return Credit(line_id, Decimal(amount), text, payer)


def one(amount, text, payer=""):
    (proposal,) = match([credit(amount, text, payer)], EXPECTED)
    return proposal.group, [p.payment_id for p in proposal.payments], proposal.reason


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-08-0012",
        "2026 12 08 0012",
        "2026.12.08.0012",
        "202612080012",
        "VIR SEPA DUPONT MARIE MOTIF 2026-12-08-0012 REF 8842XZ",
        "vir sepa /ref 2026-12-08-0012/",
    ],
)
def test_a_reference_is_found_however_it_was_typed(text):
    assert references_in(text) == ["2026-12-08-0012"]


def test_references_are_found_with_their_complement_and_several_in_one_text():
    text = "PANIERS 2026-11-26-0005-2 ET 2026-12-08-0013 ET 2026-11-26-0005-2"
    assert references_in(text) == ["2026-11-26-0005-2", "2026-12-08-0013"]
    assert references_in("IBAN FR76 3000 6000 0112 3456 7890 189") == []
    assert references_in("120261208001234") == []  # inside a longer number


def test_one_reference_and_the_same_amount_is_sure():
    assert one("25.00", "VIR SEPA MOTIF 2026-12-08-0012") == (SURE, [1], "")


def test_a_reference_with_another_amount_is_to_check_as_partial_or_over():
    assert one("20.00", "2026-12-08-0012") == (CHECK, [1], "partial")
    assert one("30.00", "2026-12-08-0012") == (CHECK, [1], "over")


def test_two_references_in_one_transfer_are_to_check_with_both_payments():
    assert one("43.40", "2026-12-08-0012 2026-12-08-0013") == (CHECK, [1, 2], "several")


def test_a_complement_reference_pays_the_complement():
    assert one("4.10", "VIR 2026-11-26-0005-2") == (SURE, [4], "")


def test_the_reference_of_a_payment_received_proposes_its_complement_still_expected():
    assert one("3.00", "2026-12-08-0020") == (CHECK, [6], "complement")
    assert one("12.00", "2026-12-08-0020", "X") == (CHECK, [6], "complement")
    only_received = match([credit("12.00", "2026-12-08-0020")], [INES])
    assert only_received[0].group == RECEIVED


def test_a_typo_in_the_reference_is_to_check_when_the_amount_and_the_name_agree():
    assert one("25.00", "2026-12-08-0021", "DUPONT MARIE") == (CHECK, [1], "typo")
    assert one("25.00", "2026-12-08-012", "MME MARIE DUPONT") == (CHECK, [1], "typo")
    assert one("25.00", "2026-12-08-0021", "MARTIN PAUL")[0] == UNKNOWN  # not her name


def test_no_reference_but_the_amount_and_the_name_is_to_check():
    assert one("18.40", "VIR SEPA", "M. PAUL MARTIN") == (CHECK, [2], "name")
    assert one("31.20", "VIREMENT DE LEFEVRE ZOE")[0] == UNKNOWN  # the payer is needed
    assert one("18.41", "VIR SEPA", "PAUL MARTIN")[0] == UNKNOWN


def test_a_credit_of_nothing_expected_is_unknown():
    assert one("50.00", "REMISE CHEQUES 0012345") == (UNKNOWN, [], "")


@pytest.mark.parametrize(
    ("payer", "agree"),
    [
        ("DUPONT MARIE", True),
        ("MME DUPONT", True),
        ("M DUPONT OU MME DUPONT MARIE", True),
        ("Dupont M.", True),
        ("DUPOND MARIE", False),
        ("DUPONT JEAN", False),
        ("", False),
    ],
)
def test_a_payers_name_agrees_with_the_clients(payer, agree):
    assert names_agree(MARIE, payer) is agree


def test_accents_and_case_do_not_matter_in_names():
    assert names_agree(ZOE, "LEFEVRE ZOE")
    assert names_agree(ZOE, "lefèvre zoé")
