"""``manage.py demo_bank_statement <market>``: a CAMT.053 statement to try « Banque » with.

Written on the standard output, for the market's transfers still expected:
the first paid with its reference as given, the second in part with the
reference typed without dashes, the third with one digit swapped but the
payer's name, the fourth with no reference but the payer's name; then bank
fees and a deposit of the cheques the market holds. Import it on the
« Banque » page: the demo shows every group of the reconciliation.
"""

from decimal import Decimal
from xml.sax.saxutils import escape

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Market

from ...bank_transfers import expected_transfers
from ...ledger import account_balance, market_account
from ...models import AccountKind

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def _entry(n: int, amount: Decimal, text: str, payer: str = "", debit: bool = False) -> str:
    day = timezone.localdate().isoformat()
    party = (
        f"<RltdPties><Dbtr><Pty><Nm>{escape(payer)}</Nm></Pty></Dbtr></RltdPties>" if payer else ""
    )
    indicator = "DBIT" if debit else "CRDT"
    return (
        f'<Ntry><Amt Ccy="EUR">{amount:.2f}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt>"
        f"<AcctSvcrRef>DEMO-{day}-{n}</AcctSvcrRef><NtryDtls><TxDtls>{party}"
        f"<RmtInf><Ustrd>{escape(text)}</Ustrd></RmtInf></TxDtls></NtryDtls>"
        f"<AddtlNtryInf>{'PRLV' if debit else 'VIR SEPA RECU'}</AddtlNtryInf></Ntry>"
    )


def _entries(market: Market) -> list[str]:
    transfers = list(expected_transfers(market).select_related("membership__user")[:4])
    entries = []
    for n, payment in enumerate(transfers):
        user = payment.membership.user
        name = f"{user.last_name} {user.first_name}".upper()
        ref = payment.reference
        written = [
            (payment.amount, f"MOTIF {ref}", ""),
            (payment.amount / 2, ref.replace("-", ""), ""),
            (payment.amount, ref[:-2] + ref[-1] + ref[-2], name),
            (payment.amount, "COURSES", name),
        ][n]
        entries.append(_entry(n + 1, written[0].quantize(Decimal("0.01")), written[1], written[2]))
    entries.append(_entry(8, Decimal("4.50"), "FRAIS TENUE DE COMPTE", debit=True))
    cheques = account_balance(market_account(market, AccountKind.CHEQUES))
    if cheques > 0:
        entries.append(_entry(9, cheques, "REMISE DE CHEQUES"))
    return entries


class Command(BaseCommand):
    help = "Write a CAMT.053 statement for the market's transfers still expected (a demo)."

    def add_arguments(self, parser):
        parser.add_argument("market", help="the market's identifier (slug)")

    def handle(self, *args, **options):
        market = Market.objects.filter(slug=options["market"]).first()
        if market is None:
            raise CommandError(f"No market {options['market']!r}.")
        day = timezone.localdate().isoformat()
        iban = "".join(market.iban.split()).upper() or "FR7630006000011234567890189"
        self.stdout.write(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NS}"><BkToCstmrStmt>'
            f"<GrpHdr><MsgId>DEMO</MsgId><CreDtTm>{day}T08:00:00</CreDtTm></GrpHdr>"
            f"<Stmt><Id>DEMO-{day}</Id><Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
            f"{''.join(_entries(market))}</Stmt></BkToCstmrStmt></Document>"
        )
