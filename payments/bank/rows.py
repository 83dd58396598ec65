"""The reconciliation as the « Banque » page shows it: one row per bank credit."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from cagette.money import format_euros

from ..models import BankLine, Payment
from .matching import Proposal
from .proposals import Proposals


@dataclass(frozen=True)
class MatchRow:
    line: BankLine
    payments: list[Payment]
    why: str
    confirmable: bool  # one click posts it: the payments' amounts are the line's


def _why(proposal: Proposal, expected: Decimal) -> str:
    reasons = {
        "partial": _("Payé en partie : %(expected)s attendus, le reste restera dû."),
        "over": _("Payé en plus : %(expected)s attendus, le reste ira sur le solde du client."),
        "several": _("Un virement pour plusieurs paiements (%(expected)s attendus en tout)."),
        "complement": _(
            "Référence du premier paiement, déjà reçu : c'est sans doute le complément attendu."
        ),
        "typo": _("Référence à un caractère près, même montant et même nom."),
        "name": _("Sans référence reconnue : même montant et même nom."),
    }
    text = reasons.get(proposal.reason, "")
    return text % {"expected": format_euros(expected)} if "%(" in text else text


def match_rows(found: Proposals, proposals: list[Proposal]) -> list[MatchRow]:
    rows = []
    for proposal in proposals:
        payments = [found.payments[e.payment_id] for e in proposal.payments]
        expected = sum((p.amount for p in payments), Decimal("0.00"))
        rows.append(
            MatchRow(
                line=found.lines[proposal.credit.line_id],
                payments=payments,
                why=_why(proposal, expected),
                confirmable=len(payments) == 1 or expected == proposal.credit.amount,
            )
        )
    return rows
