from decimal import Decimal

from payments.ledger import client_account
from payments.services import opening_balance_record


def test_opening_balance_gives_the_client_a_credit(member):
    opening_balance_record(
        membership=member, amount=Decimal("12.50"), label="Reprise de solde", recorded_by=member.user
    )
    assert client_account(member).held == Decimal("12.50")
