"""The treasurer imports the bank's statement and confirms the transfers it shows."""

import datetime
import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from orders.models import Unit
from orders.services import basket_read, order_checkout
from payments.bank.proposals import bank_proposals, proposals_confirm
from payments.ledger import account_balance, client_account, market_account
from payments.ledger.corrections import transaction_correct
from payments.models import AccountKind, Payment, PaymentStatus, Transaction, TransactionKind
from payments.services import payment_record
from tests.factories import MembershipFactory, UserFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.payments.bank.builders import camt_balance, camt_document, camt_party, camt_statement
from tests.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

IBAN = "FR7630006000011234567890189"


@pytest.fixture
def market(market):
    market.payment_methods = ["transfer", "cheque"]
    market.iban = "FR76 3000 6000 0112 3456 7890 189"
    market.save()
    return market


@pytest.fixture
def basket(market):
    farm = ProducerFactory(market=market, name="Ferme du Bois")
    carrots = ProductFactory(producer=farm, unit=Unit.KG, unit_price=Decimal("2.50"))
    distribution = DistributionFactory(market=market)

    def order(first_name, last_name, kilos):
        user = UserFactory(first_name=first_name, last_name=last_name)
        member = MembershipFactory(market=market, user=user, role=Role.CLIENT)
        placed = order_checkout(
            membership=member,
            distribution=distribution,
            lines=basket_read(market, {str(carrots.pk): kilos}),
            choice="transfer",
            token=uuid.uuid4().hex,
            notify=False,
        )
        return placed.payments.get()

    return order


def entry(n: int, amount: str, text: str, payer: str = "", indicator: str = "CRDT") -> str:
    day = (timezone.localdate() - datetime.timedelta(days=2)).isoformat()
    party = f"<RltdPties>{camt_party('08', 'Dbtr', payer)}</RltdPties>" if payer else ""
    return (
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>BQ-{n}</AcctSvcrRef>"
        f"<NtryDtls><TxDtls>{party}<RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls>"
        f"<AddtlNtryInf>VIR SEPA RECU</AddtlNtryInf></Ntry>"
    )


def statement_file(*entries: str) -> bytes:
    day = timezone.localdate().isoformat()
    balances = camt_balance("OPBD", "0.00", "CRDT", day) + camt_balance("CLBD", "0.00", "CRDT", day)
    return camt_document("08", camt_statement(IBAN, balances, "".join(entries)))


def page(market):
    return reverse("bank_statements", args=[market.slug])


def import_file(client, market, data: bytes):
    upload = SimpleUploadedFile("releve.xml", data, content_type="application/xml")
    return client.post(page(market), {"file": upload}, follow=True)


@pytest.fixture
def statement(basket):
    """Five credits: sure, paid in part, a typo, the name alone, unknown."""
    sure, partial = basket("Marie", "Dupont", "10"), basket("Paul", "Martin", "4")
    typo, named = basket("Zoé", "Lefèvre", "2"), basket("Inès", "Petit", "6")
    broken = typo.reference[:-2] + typo.reference[-1] + typo.reference[-2]  # two digits swapped
    data = statement_file(
        entry(1, "25.00", f"MOTIF {sure.reference.replace('-', '')}"),
        entry(2, "5.00", partial.reference),
        entry(3, "5.00", broken, payer="LEFEVRE ZOE"),
        entry(4, "15.00", "COURSES", payer="MME INES PETIT"),
        entry(5, "80.00", "REMISE DE CHEQUES"),
    )
    return data, {"sure": sure, "partial": partial, "typo": typo, "named": named}


def test_the_treasurer_confirms_the_sure_transfers_in_one_click(
    login, market, treasurer, statement
):
    data, payments = statement
    client = login(treasurer)
    text = import_file(client, market, data).content.decode()
    assert "1 sûr" in text and "3 à vérifier" in text and "1 inconnu" in text

    lines = client.get(page(market)).context["sure"]
    response = client.post(
        reverse("bank_confirm", args=[market.slug]),
        {"lines": [str(row.line.pk) for row in lines]},
        follow=True,
    )

    assert "1 virement reçu (25,00" in response.content.decode()
    sure = Payment.objects.get(pk=payments["sure"].pk)
    assert sure.status == PaymentStatus.RECEIVED and sure.amount == Decimal("25.00")
    assert sure.paid_on == timezone.localdate() - datetime.timedelta(days=2)  # the bank's date
    assert client_account(sure.membership).held == Decimal("0.00")
    assert Payment.objects.filter(status=PaymentStatus.RECEIVED).count() == 1
    assert account_balance(market_account(market, AccountKind.BANK)) == Decimal("25.00")


def test_a_proposal_to_check_is_confirmed_with_the_amount_the_bank_shows(
    login, market, treasurer, statement
):
    data, payments = statement
    client = login(treasurer)
    import_file(client, market, data)
    rows = {row.payments[0].pk: row for row in client.get(page(market)).context["check"]}
    partial, typo = rows[payments["partial"].pk], rows[payments["typo"].pk]
    assert "Payé en partie" in partial.why and "un caractère près" in typo.why
    assert "même montant et même nom" in rows[payments["named"].pk].why

    for row in (partial, typo):
        url = reverse("bank_line_confirm", args=[market.slug, row.line.pk])
        client.post(url, {"payments": [str(row.payments[0].pk)]})

    paid = Payment.objects.get(pk=payments["partial"].pk)
    assert (paid.status, paid.amount) == (PaymentStatus.RECEIVED, Decimal("5.00"))
    assert client_account(paid.membership).held == Decimal("-5.00")  # the rest still owed
    assert Payment.objects.get(pk=payments["typo"].pk).status == PaymentStatus.RECEIVED
    assert Payment.objects.get(pk=payments["named"].pk).status == PaymentStatus.PENDING


def test_a_line_confirmed_again_posts_nothing_more(login, market, treasurer, statement):
    data, payments = statement
    client = login(treasurer)
    import_file(client, market, data)
    (row,) = client.get(page(market)).context["sure"]
    confirm = reverse("bank_confirm", args=[market.slug])

    client.post(confirm, {"lines": [str(row.line.pk)]})
    again = client.post(confirm, {"lines": [str(row.line.pk)]}, follow=True)

    assert "Rien à confirmer" in again.content.decode()
    assert account_balance(market_account(market, AccountKind.BANK)) == Decimal("25.00")
    assert client.get(page(market)).context["received"][0].line == row.line


def test_a_proposal_posted_with_other_payments_than_the_rules_find_is_refused(
    login, market, treasurer, statement
):
    data, payments = statement
    client = login(treasurer)
    import_file(client, market, data)
    (row,) = client.get(page(market)).context["sure"]

    url = reverse("bank_line_confirm", args=[market.slug, row.line.pk])
    client.post(url, {"payments": [str(payments["named"].pk)]})

    assert not Payment.objects.filter(status=PaymentStatus.RECEIVED).exists()


def test_another_markets_line_is_not_found(login, market, treasurer, statement, other_market):
    data, _payments = statement
    import_file(login(treasurer), market, data)
    stranger = MembershipFactory(market=other_market, role=Role.TREASURER)
    line = login(treasurer).get(page(market)).context["sure"][0].line

    response = login(stranger).post(
        reverse("bank_line_confirm", args=[other_market.slug, line.pk]), {"payments": []}
    )

    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_confirmations_at_once_post_the_transfer_once(login, market, treasurer, statement):
    data, payments = statement
    import_file(login(treasurer), market, data)
    line_ids = [p.credit.line_id for p in bank_proposals(market).sure]

    def confirm(_):
        return len(proposals_confirm(market=market, line_ids=line_ids, received_by=treasurer.user))

    results, errors = run_together(confirm, 2)

    assert errors == [] and sorted(results) == [0, 1]
    assert account_balance(market_account(market, AccountKind.BANK)) == Decimal("25.00")


def test_a_line_confirmed_is_listed_as_received_and_no_longer_proposed(
    login, market, treasurer, statement
):
    data, payments = statement
    client = login(treasurer)
    import_file(client, market, data)
    rows = {row.payments[0].pk: row for row in client.get(page(market)).context["check"]}
    named = rows[payments["named"].pk]

    url = reverse("bank_line_confirm", args=[market.slug, named.line.pk])
    client.post(url, {"payments": [str(payments["named"].pk)]})

    context = client.get(page(market)).context
    assert named.line.pk not in [row.line.pk for row in context["check"]]
    assert named.line.pk not in [line.pk for line in context["unknown"]]
    (received,) = [row for row in context["received"] if row.line.pk == named.line.pk]
    assert [p.pk for p in received.payments] == [payments["named"].pk]
    assert Payment.objects.get(pk=payments["named"].pk).bank_match.line == named.line


def test_an_unknown_line_is_set_aside_with_why_once(login, market, treasurer, statement):
    data, _payments = statement
    client = login(treasurer)
    import_file(client, market, data)
    (deposit,) = [line for line in client.get(page(market)).context["unknown"]]
    url = reverse("bank_line_aside", args=[market.slug, deposit.pk])

    refused = client.post(url, {"reason": "lottery"}, follow=True)
    assert "Choisissez pourquoi" in refused.content.decode()
    client.post(url, {"reason": "cheque_deposit", "note": "Distribution du 4"})
    client.post(url, {"reason": "other"})

    context = client.get(page(market)).context
    assert context["unknown"] == []
    (aside,) = context["aside"]
    assert (aside.line, aside.reason, aside.note) == (
        deposit,
        "cheque_deposit",
        "Distribution du 4",
    )
    assert aside.created_by == treasurer.user


def test_a_bank_fee_is_listed_among_the_unknown_lines_to_set_aside(login, market, treasurer):
    data = statement_file(entry(9, "4.50", "FRAIS TENUE DE COMPTE", indicator="DBIT"))
    client = login(treasurer)
    import_file(client, market, data)

    (fee,) = client.get(page(market)).context["unknown"]

    assert fee.amount == Decimal("-4.50")
    client.post(reverse("bank_line_aside", args=[market.slug, fee.pk]), {"reason": "bank_fees"})
    assert client.get(page(market)).context["unknown"] == []


def test_another_markets_line_cannot_be_set_aside(
    login, market, treasurer, statement, other_market
):
    data, _payments = statement
    import_file(login(treasurer), market, data)
    (line,) = login(treasurer).get(page(market)).context["unknown"]
    stranger = MembershipFactory(market=other_market, role=Role.TREASURER)

    url = reverse("bank_line_aside", args=[other_market.slug, line.pk])
    response = login(stranger).post(url, {"reason": "bank_fees"})

    assert response.status_code == 404


def test_an_unknown_credit_is_given_to_the_client_who_paid_it_once(
    login, market, treasurer, statement, basket
):
    data, _payments = statement
    client = login(treasurer)
    import_file(client, market, data)
    (deposit,) = client.get(page(market)).context["unknown"]
    payer = basket("Hugo", "Bernard", "2").membership
    url = reverse("bank_line_assign", args=[market.slug, deposit.pk])

    found = client.get(url, {"q": "bernard"}).context["clients"]
    assert list(found) == [payer]
    client.post(url, {"membership": str(payer.pk)})
    again = client.post(url, {"membership": str(payer.pk)}, follow=True)

    assert "déjà traitée" in again.content.decode()
    credited = Payment.objects.get(membership=payer, status=PaymentStatus.RECEIVED)
    assert (credited.amount, credited.method) == (Decimal("80.00"), "transfer")
    assert credited.bank_match.line == deposit
    assert client_account(payer).held == Decimal("75.00")  # 80 paid, 5 ordered
    assert client.get(page(market)).context["unknown"] == []


def test_a_credit_is_given_to_a_client_of_the_market_only(
    login, market, treasurer, statement, other_market
):
    data, _payments = statement
    client = login(treasurer)
    import_file(client, market, data)
    (deposit,) = client.get(page(market)).context["unknown"]
    url = reverse("bank_line_assign", args=[market.slug, deposit.pk])
    stranger = MembershipFactory(market=other_market)

    for pk in (stranger.pk, treasurer.pk, "x", "99999999999999999999"):
        assert client.post(url, {"membership": str(pk)}).status_code == 404
    assert not Payment.objects.filter(status=PaymentStatus.RECEIVED).exists()


def test_one_transfer_for_two_baskets_is_confirmed_for_both_when_it_pays_both(
    login, market, treasurer, basket
):
    first, second = basket("Léa", "Moreau", "2"), basket("Léa", "Moreau", "4")
    both = f"PANIERS {first.reference} ET {second.reference}"
    client = login(treasurer)
    import_file(client, market, statement_file(entry(1, "15.00", both), entry(2, "9.00", both)))
    rows = {row.line.amount: row for row in client.get(page(market)).context["check"]}
    assert rows[Decimal("15.00")].confirmable and not rows[Decimal("9.00")].confirmable

    exact = rows[Decimal("15.00")]
    url = reverse("bank_line_confirm", args=[market.slug, exact.line.pk])
    client.post(url, {"payments": [str(first.pk), str(second.pk)]})

    paid = Payment.objects.filter(pk__in=[first.pk, second.pk], status=PaymentStatus.RECEIVED)
    assert sorted(p.amount for p in paid) == [Decimal("5.00"), Decimal("10.00")]
    assert {p.bank_match.line_id for p in paid} == {exact.line.pk}


def test_a_match_cancelled_by_annuler_frees_its_line_again(
    login, market, treasurer, statement, basket
):
    data, payments = statement
    client = login(treasurer)
    import_file(client, market, data)
    (deposit,) = client.get(page(market)).context["unknown"]
    first, second = basket("Hugo", "Bernard", "2").membership, basket("Ana", "Roux", "2").membership
    url = reverse("bank_line_assign", args=[market.slug, deposit.pk])
    client.post(url, {"membership": str(first.pk)})
    wrong = Payment.objects.get(bank_match__line=deposit)

    transaction_correct(txn=wrong.transaction, reason="Pas ce client", corrected_by=treasurer.user)

    assert deposit in client.get(page(market)).context["unknown"]
    client.post(url, {"membership": str(second.pk)})
    right = Payment.objects.get(bank_match__line=deposit, status=PaymentStatus.RECEIVED)
    assert right.membership == second and client_account(first).held == Decimal("-5.00")
    assert client_account(second).held == Decimal("75.00")


def test_a_cheque_deposit_moves_the_cheques_to_the_bank_once(login, market, treasurer, basket):
    orders = [basket("Léa", "Moreau", "2").order, basket("Hugo", "Bernard", "4").order]
    for order, amount in zip(orders, ("5.00", "10.00"), strict=True):
        payment_record(
            membership=order.membership,
            method="cheque",
            amount=Decimal(amount),
            recorded_by=treasurer.user,
            cheque_number="000123",
            order=order,
        )
    cheques = market_account(market, AccountKind.CHEQUES)
    assert account_balance(cheques) == Decimal("15.00")
    client = login(treasurer)
    import_file(client, market, statement_file(entry(1, "15.00", "REMISE CHEQUES N 4521")))
    page_text = client.get(page(market)).content.decode()
    assert "Autant que les chèques de la distribution du" in page_text
    (deposit,) = client.get(page(market)).context["unknown"]

    url = reverse("bank_line_aside", args=[market.slug, deposit.pk])
    done = client.post(url, {"reason": "cheque_deposit"}, follow=True)
    client.post(url, {"reason": "cheque_deposit"})

    assert "passés du compte" in done.content.decode()
    assert account_balance(cheques) == Decimal("0.00")
    assert account_balance(market_account(market, AccountKind.BANK)) == Decimal("15.00")
    assert Transaction.objects.filter(kind=TransactionKind.DEPOSIT).count() == 1
    call_command("check_ledger", stdout=StringIO())


def test_fees_set_aside_post_nothing(login, market, treasurer):
    client = login(treasurer)
    import_file(client, market, statement_file(entry(1, "4.50", "FRAIS", indicator="DBIT")))
    (fee,) = client.get(page(market)).context["unknown"]

    client.post(
        reverse("bank_line_aside", args=[market.slug, fee.pk]), {"reason": "cheque_deposit"}
    )

    assert not Transaction.objects.filter(kind=TransactionKind.DEPOSIT).exists()
    assert client.get(page(market)).context["unknown"] == []


def test_the_clients_history_says_which_bank_line_paid(login, market, treasurer, statement):
    data, payments = statement
    client = login(treasurer)
    import_file(client, market, data)
    (row,) = client.get(page(market)).context["sure"]
    client.post(reverse("bank_confirm", args=[market.slug]), {"lines": [str(row.line.pk)]})
    member = payments["sure"].membership
    day = row.line.booked_on.strftime("%d/%m/%Y")

    staff_page = client.get(reverse("client_history", args=[market.slug, member.pk]))
    own_page = login(member).get(reverse("my_account", args=[market.slug]))

    assert f"sur le relevé bancaire du {day} (VIR SEPA RECU)" in staff_page.content.decode()
    own = own_page.content.decode()
    assert f"sur le relevé bancaire du {day}" in own and "VIR SEPA RECU" not in own


def test_a_line_set_aside_by_mistake_is_taken_back_its_deposit_reversed(
    login, market, treasurer, basket
):
    order = basket("Léa", "Moreau", "2").order
    payment_record(
        membership=order.membership,
        method="cheque",
        amount=Decimal("15.00"),
        recorded_by=treasurer.user,
        order=order,
    )
    cheques, bank = (
        market_account(market, kind) for kind in (AccountKind.CHEQUES, AccountKind.BANK)
    )
    client = login(treasurer)
    import_file(client, market, statement_file(entry(1, "15.00", "REMISE CHEQUES")))
    (line,) = client.get(page(market)).context["unknown"]
    aside = reverse("bank_line_aside", args=[market.slug, line.pk])
    take_back = reverse("bank_line_take_back", args=[market.slug, line.pk])
    client.post(aside, {"reason": "cheque_deposit"})

    refused = client.post(take_back, {"reason": ""}, follow=True)
    assert "Dites pourquoi" in refused.content.decode()
    assert account_balance(cheques) == Decimal("0.00")
    client.post(take_back, {"reason": "Ce n'était pas cette remise"})

    assert [account_balance(cheques), account_balance(bank)] == [Decimal("15.00"), Decimal("0")]
    assert client.get(page(market)).context["unknown"] == [line]
    client.post(aside, {"reason": "cheque_deposit"})  # set aside again: posted again
    assert [account_balance(cheques), account_balance(bank)] == [Decimal("0"), Decimal("15.00")]
    assert Transaction.objects.filter(kind=TransactionKind.DEPOSIT).count() == 2
    call_command("check_ledger", stdout=StringIO())


def test_the_demo_statement_shows_every_group_of_the_reconciliation(
    login, market, treasurer, basket
):
    for name in ("Marie Dupont", "Paul Martin", "Zoé Lefèvre", "Inès Petit"):
        basket(*name.split(), "4")
    out = StringIO()
    call_command("demo_bank_statement", market.slug, stdout=out)
    client = login(treasurer)

    import_file(client, market, out.getvalue().encode())

    context = client.get(page(market)).context
    reasons = sorted(row.why.split()[0] for row in context["check"])
    assert len(context["sure"]) == 1 and len(context["check"]) == 3
    assert reasons == ["Payé", "Référence", "Sans"]  # in part, a typo, the name alone
    assert [line.label for line in context["unknown"]] == ["PRLV"]  # the bank's fees


@pytest.mark.parametrize("posted", ["²", "٣", "-1", ""])
def test_a_client_id_that_is_not_one_is_not_found(login, market, treasurer, statement, posted):
    data, _payments = statement
    client = login(treasurer)
    import_file(client, market, data)
    (deposit,) = client.get(page(market)).context["unknown"]
    url = reverse("bank_line_assign", args=[market.slug, deposit.pk])

    assert client.post(url, {"membership": posted}).status_code == 404
