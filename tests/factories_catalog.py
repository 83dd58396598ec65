"""Factories for the catalog: producers, products and distributions."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from distributions.models import Distribution, DistributionStatus
from orders.models import Producer, Product, Unit

from .factories import MarketFactory


class ProducerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Producer

    market = factory.SubFactory(MarketFactory)
    name = factory.Sequence(lambda n: f"Ferme n°{n}")
    description = "Légumes de saison"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    producer = factory.SubFactory(ProducerFactory)
    market = factory.SelfAttribute("producer.market")
    name = factory.Sequence(lambda n: f"Produit n°{n}")
    unit = Unit.KG
    unit_price = Decimal("2.80")


class DistributionFactory(factory.django.DjangoModelFactory):
    """A distribution open for orders: opened yesterday, closing in 3 days, held in 5."""

    class Meta:
        model = Distribution

    market = factory.SubFactory(MarketFactory)
    date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=5))
    place = "Salle des fêtes"
    starts_at = datetime.time(18, 0)
    ends_at = datetime.time(20, 0)
    orders_open_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    orders_close_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=3))
    status = DistributionStatus.OPEN
