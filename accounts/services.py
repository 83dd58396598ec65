from django.db import transaction

from payments.ledger import client_account

from .models import Market, Membership, Role, User


def membership_create(*, user: User, market: Market, role: str = Role.CLIENT) -> Membership:
    """Add a person to a market, with their client account in its ledger."""
    with transaction.atomic():
        membership = Membership.objects.create(user=user, market=market, role=role)
        client_account(membership)
    return membership


def user_language_set(*, user: User, language: str) -> None:
    """Remember the language ``user`` reads the site in (a code of ``LANGUAGES``)."""
    if user.language != language:
        user.language = language
        User.objects.filter(pk=user.pk).update(language=language)
