"""A market's name reads correctly whatever it is: « AMAP des Lilas », « Marché de Montreuil ».

French would need an article the name does not carry (« à l'ordre de AMAP
des Lilas », « L'équipe de Marché de Montreuil »), so no sentence puts a
preposition or an article before the market's name or the cheque payee: the
name stands alone (« Ordre du chèque : AMAP des Lilas », a signature line).
"""

import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Unit
from orders.services import basket_read, order_checkout
from payments.bank_transfers import transfer_reminders_send
from payments.models import Payment, PaymentStatus
from tests.factories import MembershipFactory
from tests.factories_catalog import DistributionFactory, ProducerFactory, ProductFactory
from tests.jobs import run_jobs
from tests.typography import NBSP, project_root, python_strings

ROOT = project_root()
# A word that would need the name to carry its own article.
BEFORE_A_NAME = r"(?:\b(?:de|à|du|au|aux|le|la|les|des|par|pour|chez|auprès de)\s+|\b[ldLD]['’])"
NAME_VALUE = re.compile(r"(\w+)=[\w.]*(?:market\.name|payee)\b")
BLOCK = re.compile(r"{%\s*blocktranslate\b([^%]*)%}(.*?){%\s*endblocktranslate\s*%}", re.DOTALL)


def _sentences_naming_the_market_after_a_preposition(source: str) -> list[str]:
    found = []
    for header, body in BLOCK.findall(source):
        for name in NAME_VALUE.findall(header):
            pattern = BEFORE_A_NAME + r"{{\s*" + name + r"\s*}}"
            found += [m.group() for m in re.finditer(pattern, body, re.IGNORECASE)]
    return found


def test_no_template_puts_a_preposition_before_the_market_s_name_or_the_payee():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.*")):
        found += [
            f"{path.relative_to(ROOT)}: {words}"
            for words in _sentences_naming_the_market_after_a_preposition(path.read_text())
        ]
    assert not found, found


def test_no_python_sentence_puts_a_preposition_before_the_market_s_name():
    pattern = re.compile(BEFORE_A_NAME + r"%\((?:market|payee)\)s", re.IGNORECASE)
    found = []
    for app in ["accounts", "cagette", "distributions", "orders", "payments"]:
        for path in sorted((ROOT / app).rglob("*.py")):
            found += [
                f"{path.relative_to(ROOT)}: {string.text}"
                for string in python_strings(path.read_text())
                if pattern.search(string.text)
            ]
    assert not found, found


def test_the_check_finds_a_sentence_that_needs_an_article():
    source = (
        "{% blocktranslate with market=request.market.name %}L'équipe de {{ market }}"
        "{% endblocktranslate %}{% blocktranslate with payee=i.market.payee %}"
        "à l'ordre de {{ payee }}{% endblocktranslate %}"
    )

    assert _sentences_naming_the_market_after_a_preposition(source) == [
        "de {{ market }}",
        "de {{ payee }}",
    ]


# The pages and emails of a market whose name has no article


@pytest.fixture
def lilas(db):
    market = MembershipFactory(role="admin").market
    market.name = "AMAP des Lilas"
    market.payments_enabled = True
    market.payment_methods = ["cheque", "transfer"]
    market.iban = "FR7630006000011234567890189"
    market.account_holder = "Association des Lilas"
    market.cheque_payee = "AMAP des Lilas"
    market.save()
    return market


@pytest.fixture
def lilas_client(lilas):
    member = MembershipFactory(market=lilas, role="client")
    member.user.first_name = "Léa"
    member.user.save()
    return member


def _order(member, choice, django_capture_on_commit_callbacks):
    farm = ProducerFactory(market=member.market)
    beans = ProductFactory(producer=farm, unit=Unit.KG, unit_price=Decimal("3.00"))
    distribution = DistributionFactory(market=member.market, date=datetime.date(2026, 12, 4))
    lines = basket_read(member.market, {str(beans.pk): "2"})
    with django_capture_on_commit_callbacks(execute=True):
        order = order_checkout(
            membership=member,
            distribution=distribution,
            lines=lines,
            choice=choice,
            token=uuid.uuid4().hex,
        )
    run_jobs()
    return order


def test_the_cheque_recap_names_the_payee_alone_and_signs_with_the_name_alone(
    lilas_client, mailoutbox, django_capture_on_commit_callbacks
):
    _order(lilas_client, "cheque", django_capture_on_commit_callbacks)

    body = mailoutbox[0].body
    assert f"Ordre du chèque{NBSP}: AMAP des Lilas" in body
    assert f"AMAP des Lilas{NBSP}: votre commande est enregistrée" in body
    assert body.rstrip().endswith("À bientôt,\nAMAP des Lilas")
    assert "de AMAP" not in body and "L'équipe" not in body


def test_the_order_page_names_the_payee_set_in_the_settings(
    client, lilas_client, django_capture_on_commit_callbacks
):
    order = _order(lilas_client, "cheque", django_capture_on_commit_callbacks)
    client.force_login(lilas_client.user)

    page = client.get(reverse("order_detail", args=[lilas_client.market.slug, order.pk]))

    content = page.content.decode()
    assert re.search(r'Ordre du chèque\xa0: <strong class="payee">AMAP des Lilas</strong>', content)
    assert "à l'ordre de" not in content


def test_the_transfer_reminder_does_not_make_the_name_the_subject_of_a_sentence(
    lilas, lilas_client, mailoutbox, django_capture_on_commit_callbacks
):
    _order(lilas_client, "transfer", django_capture_on_commit_callbacks)
    mailoutbox.clear()
    payment = Payment.objects.get(status=PaymentStatus.PENDING)
    admin = lilas.memberships.get(role="admin")

    transfer_reminders_send(
        market=lilas, payment_ids=[payment.pk], sent_by=admin.user, token=uuid.uuid4().hex
    )
    run_jobs()

    body = mailoutbox[0].body
    assert "nous n'avons pas encore reçu votre virement" in body
    assert "AMAP des Lilas n'a pas" not in body
    assert body.rstrip().endswith("À bientôt,\nAMAP des Lilas")


def test_the_cheque_payee_field_shows_what_is_written_when_left_empty(client, lilas):
    lilas.cheque_payee = ""
    lilas.save()
    client.force_login(lilas.memberships.get(role="admin").user)

    page = client.get(reverse("payment_settings", args=[lilas.slug])).content.decode()

    field = re.search(r'<input[^>]*name="cheque_payee"[^>]*>', page).group()
    assert 'placeholder="Association des Lilas"' in field
