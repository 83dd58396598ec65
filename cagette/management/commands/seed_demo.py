"""Demo data: a market with producers and clients whose balances vary.

Safe to run twice: an existing demo market is left as it is.
"""

from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Market, Membership, Role, User
from distributions.models import Distribution, DistributionStatus
from orders.models import Producer, Product, Unit
from orders.services import basket_read, order_checkout
from payments.services import membership_create, opening_balance_record, payment_record

DEMO_PASSWORD = "cagette-demo"
MARKET_SLUG = "marche-de-montreuil"
STAFF = [
    ("admin@demo.cagette.fr", "Claire", "Martin", Role.ADMIN),
    ("tresorier@demo.cagette.fr", "Paul", "Bernard", Role.TREASURER),
]
CLIENT_LOGIN = "client@demo.cagette.fr"
PRODUCERS = [
    ("Ferme des Trois Chênes", "Légumes de saison"),
    ("Fromagerie du Plateau", "Fromages de chèvre et de vache"),
    ("Boulangerie Au Levain", "Pains au levain, farines locales"),
    ("Rucher de la Vallée", "Miel et pain d'épices"),
]
# producer index, name, unit, price
PRODUCTS = [
    (0, "Panier de légumes", Unit.BASKET, "15.00"),
    (0, "Pommes de terre", Unit.KG, "2.40"),
    (0, "Carottes", Unit.KG, "2.10"),
    (0, "Botte de radis", Unit.BUNCH, "1.80"),
    (1, "Crottin de chèvre", Unit.PIECE, "2.90"),
    (1, "Tomme de vache", Unit.KG, "21.50"),
    (2, "Pain de campagne 1 kg", Unit.PIECE, "5.20"),
    (2, "Baguette tradition", Unit.PIECE, "1.30"),
    (3, "Miel de châtaignier 500 g", Unit.PIECE, "9.50"),
]
# Past orders: (client email, {product index: quantity}, checkout choice)
PAST_ORDERS = [
    (CLIENT_LOGIN, {0: "1", 4: "2"}, "cheque"),
    ("emma.leroy@exemple.fr", {1: "2,5", 6: "1"}, "cagnotte"),
    ("hugo.petit@exemple.fr", {0: "1", 8: "1"}, "transfer"),
    ("zoe.girard@exemple.fr", {5: "0,4", 7: "2"}, "on_site"),
]
# (email, first name, last name, opening balance or None, payments: [(method, amount, cheque n°)])
CLIENTS = [
    (CLIENT_LOGIN, "Léa", "Dubois", "-32.40", [("cheque", "20.00", "0001234")]),
    ("hugo.petit@exemple.fr", "Hugo", "Petit", "-58.90", []),
    ("emma.leroy@exemple.fr", "Emma", "Leroy", "15.00", []),
    ("lucas.moreau@exemple.fr", "Lucas", "Moreau", "-24.00", [("cash", "24.00", "")]),
    ("chloe.simon@exemple.fr", "Chloé", "Simon", None, [("transfer", "100.00", "")]),
    ("louis.laurent@exemple.fr", "Louis", "Laurent", "-7.35", []),
    ("manon.michel@exemple.fr", "Manon", "Michel", None, []),
    ("jules.garcia@exemple.fr", "Jules", "Garcia", "-120.00", [("cheque", "60.00", "0004321")]),
    ("ines.roux@exemple.fr", "Inès", "Roux", "4.60", []),
    (
        "arthur.fournier@exemple.fr",
        "Arthur",
        "Fournier",
        "-1250.00",
        [("cheque", "1250.00", "7781")],
    ),
    ("zoe.girard@exemple.fr", "Zoé", "Girard", None, [("card_terminal", "35.50", "")]),
    ("nathan.andre@exemple.fr", "Nathan", "André", "-12.80", []),
]


class Command(BaseCommand):
    help = (
        "Load demo data (a market, producers, clients with varied balances) and print the logins."
    )

    def handle(self, *args, **options):
        if Market.objects.filter(slug=MARKET_SLUG).exists():
            self.stdout.write("Demo data already loaded.")
        else:
            with transaction.atomic():
                self._seed()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        market = Market.objects.get(slug=MARKET_SLUG)
        if not market.products.exists():
            with transaction.atomic():
                self._seed_catalog(market)
            self.stdout.write(self.style.SUCCESS("Demo products and distributions loaded."))
        self._print_logins()

    def _user(self, email, first_name, last_name):
        user, created = User.objects.get_or_create(
            email=email, defaults={"first_name": first_name, "last_name": last_name}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        return user

    def _seed(self):
        market = Market.objects.create(
            name="Marché de Montreuil",
            slug=MARKET_SLUG,
            payment_methods=["cheque", "cash", "transfer", "card_terminal", "cagnotte"],
            iban="FR7630006000011234567890189",
            bic="AGRIFRPP882",
            account_holder="Association Marché de Montreuil",
            cheque_payee="Marché de Montreuil",
        )
        amap = Market.objects.create(
            name="AMAP des Lilas", slug="amap-des-lilas", allow_negative_balances=False
        )
        for name, description in PRODUCERS:
            Producer.objects.create(market=market, name=name, description=description)
        Producer.objects.create(market=amap, name="Ferme des Trois Chênes")
        staff = [self._user(e, f, n) for e, f, n, _ in STAFF]
        for user, (_, _, _, role) in zip(staff, STAFF, strict=True):
            membership_create(user=user, market=market, role=role)
        admin = staff[0]
        membership_create(user=admin, market=amap, role=Role.ADMIN)
        start = timezone.localdate() - timedelta(days=60)
        for email, first, last, opening, payments in CLIENTS:
            member = membership_create(user=self._user(email, first, last), market=market)
            if opening is not None:
                opening_balance_record(
                    membership=member,
                    amount=Decimal(opening),
                    label="Reprise de solde",
                    date=start,
                    recorded_by=staff[1],
                )
            for i, (method, amount, cheque) in enumerate(payments, start=1):
                payment_record(
                    membership=member,
                    method=method,
                    amount=Decimal(amount),
                    cheque_number=cheque,
                    bank="Crédit Coopératif" if cheque else "",
                    paid_on=start + timedelta(days=7 * i),
                    recorded_by=staff[1],
                )
        lea = User.objects.get(email=CLIENT_LOGIN)
        membership_create(user=lea, market=amap)

    def _seed_catalog(self, market):
        producers = list(Producer.objects.filter(market=market).order_by("pk"))
        products = [
            Product.objects.create(
                market=market,
                producer=producers[producer],
                name=name,
                unit=unit,
                unit_price=Decimal(price),
            )
            for producer, name, unit, price in PRODUCTS
        ]
        now = timezone.now()
        today = timezone.localdate()
        past = Distribution.objects.create(
            market=market,
            date=today - timedelta(days=7),
            place="Halle du marché, place de la République",
            orders_open_at=now - timedelta(days=14),
            orders_close_at=now + timedelta(minutes=5),
        )
        for email, quantities, choice in PAST_ORDERS:
            member = Membership.objects.get(market=market, user__email=email)
            wanted = {products[i].pk: q for i, q in quantities.items()}
            order_checkout(
                membership=member,
                distribution=past,
                lines=basket_read(market, wanted),
                choice=choice,
                token=f"demo-{past.pk}-{member.pk}",
                notify=False,
            )
        # The orders were taken while it was open; now it is over.
        Distribution.objects.filter(pk=past.pk).update(
            orders_close_at=now - timedelta(days=8), status=DistributionStatus.CLOSED
        )
        Distribution.objects.create(
            market=market,
            date=today + timedelta(days=5),
            place="Halle du marché, place de la République",
            orders_open_at=now - timedelta(days=1),
            orders_close_at=now + timedelta(days=3),
        )

    def _print_logins(self):
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        for email, _, _, role in STAFF:
            self.stdout.write(f"  {Role(role).label:<15} {email}")
        self.stdout.write(f"  {'Client':<15} {CLIENT_LOGIN}")
        self.stdout.write("")
