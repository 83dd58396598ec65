from decimal import Decimal

import factory
from django.utils.text import slugify

from accounts.models import Market, Membership, Role, User
from payments.services import membership_create

PASSWORD = "motdepasse-de-test"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"personne{n}@exemple.fr")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MarketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Market
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Marché n°{n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))


class MembershipFactory(factory.django.DjangoModelFactory):
    """A member with their client account, created through the service."""

    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    market = factory.SubFactory(MarketFactory)
    role = Role.CLIENT

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return membership_create(**kwargs)


def euros(text: str) -> Decimal:
    return Decimal(text)
