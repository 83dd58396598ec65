"""Benchmark the bank reconciliation: a 10 000-line statement against 5 000 expected transfers.

    .venv/bin/python bench/bank_import.py [--lines 10000] [--expected 5000]

A new market (one per run) of ``--expected`` clients, each with a transfer
expected (its reference, its amount), in ``cagette_bench_bank`` (see
`bench/_common.py`). A CAMT.053 file of ``--lines`` lines is built: half of
the credits carry a reference of an expected transfer (some typed without
dashes, some inside a long label), the others are card remittances, fees and
transfers from strangers. Printed: the time to read the file, to store it
(and its queries), to store it again (nothing new), to match every credit
against every expected transfer (the rules alone), and the « Banque » page's
proposals (their queries, whatever the number of lines). Last line:
``import_s=<read + store> match_s=<…> store_queries=<n> page_queries=<n>``.
"""

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import clients_create, django_setup, staff_create  # noqa: E402

django_setup("bank")

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Market, Role  # noqa: E402
from payments.bank import statement_parse  # noqa: E402
from payments.bank.matching import Credit, Expected, match  # noqa: E402
from payments.bank.proposals import bank_proposals  # noqa: E402
from payments.bank.store import statement_store  # noqa: E402
from payments.models import BankLine, BankStatement, Payment, PaymentMethod, PaymentStatus  # noqa: E402

SLUG = "bench-bank"
IBAN = "FR7630006000011234567890189"
NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def market_build(expected: int):
    """A new market (one per run) with one transfer expected per client."""
    slug = f"{SLUG}-{time.time_ns()}"
    market = Market.objects.create(slug=slug, name="Bench · banque", iban=IBAN)
    treasurer = staff_create(market, f"tresorier@{slug}.bench.invalid", Role.TREASURER)
    members = clients_create(market, expected, slug)
    day = timezone.localdate()
    payments = Payment.objects.bulk_create(
        [
            Payment(
                market=market,
                membership=member,
                method=PaymentMethod.TRANSFER,
                status=PaymentStatus.PENDING,
                amount=Decimal(10 + i % 40) + Decimal("0.50"),
                reference=f"{day:%Y-%m-%d}-{i:04d}",
                created_by=treasurer,
            )
            for i, member in enumerate(members)
        ],
        batch_size=2000,
    )
    return market, payments, treasurer


def statement_bytes(lines: int, payments: list[Payment], rng: random.Random) -> bytes:
    day = timezone.localdate().isoformat()
    entries = []
    for n in range(lines):
        if n % 2 == 0 and n // 2 < len(payments):
            paid = payments[n // 2]
            written = [
                paid.reference,
                paid.reference.replace("-", ""),
                f"MOTIF {paid.reference} REF",
            ]
            amount, text = paid.amount, rng.choice(written)
        else:
            amount, text = (
                Decimal(rng.randint(100, 9000)) / 100,
                rng.choice(["REMISE CB", "FRAIS", "VIR"]),
            )
        sign = "CRDT" if n % 7 else "DBIT"
        entries.append(
            f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
            f"<BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>BQ-{n}</AcctSvcrRef>"
            f"<NtryDtls><TxDtls><RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls>"
            f"<AddtlNtryInf>VIR SEPA RECU {n}</AddtlNtryInf></Ntry>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NS}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>B</MsgId><CreDtTm>{day}T08:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>S</Id><Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        f"{''.join(entries)}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def _expected(payments) -> list[Expected]:
    return [Expected(p.pk, p.reference, p.amount, "", "") for p in payments]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--expected", type=int, default=5_000)
    args = parser.parse_args()
    with transaction.atomic():
        market, payments, treasurer = market_build(args.expected)
    data = statement_bytes(args.lines, payments, random.Random(7))
    print(
        f"{market.slug}: {args.expected} transfers expected, "
        f"a statement of {args.lines} lines ({len(data) // 1024} KiB)"
    )

    started = time.perf_counter()
    parsed = statement_parse(data)
    read_s = time.perf_counter() - started
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        store = dict(market=market, parsed=parsed, filename="bench.xml", imported_by=treasurer)
        _statement, new = statement_store(data=data, **store)
        store_s = time.perf_counter() - started
    store_queries = len(queries)
    started = time.perf_counter()
    _again, new_again = statement_store(data=data + b" ", **store)
    again_s = time.perf_counter() - started
    print(
        f"read {read_s:.2f} s · stored {new} lines in {store_s:.2f} s, {store_queries} queries · "
        f"again: {new_again} new in {again_s:.2f} s"
    )

    lines = BankLine.objects.filter(market=market, amount__gt=0)
    credits = [
        Credit(line.pk, line.amount, f"{line.label} {line.reference}", line.payer) for line in lines
    ]
    started = time.perf_counter()
    proposals = match(credits, _expected(payments))
    match_s = time.perf_counter() - started
    groups = {}
    for proposal in proposals:
        groups[proposal.group] = groups.get(proposal.group, 0) + 1
    print(
        f"matched {len(credits)} credits against {len(payments)} transfers "
        f"in {match_s:.2f} s: {groups}"
    )

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        found = bank_proposals(market)
        page_s = time.perf_counter() - started
    print(
        f"« Banque » proposals: {len(found.sure)} sûrs, {len(found.check)} à vérifier, "
        f"{len(found.unknown)} inconnus in {page_s:.2f} s, {len(queries)} queries"
    )
    assert BankStatement.objects.filter(market=market).count() == 2
    print(
        f"import_s={read_s + store_s:.2f} match_s={match_s:.2f} store_queries={store_queries} "
        f"page_queries={len(queries)}"
    )


if __name__ == "__main__":
    main()
