"""The accounts of a market's chart: its system accounts, sales, one per client.

Each is created on first use, named in the market's stored language. A look-up
of an existing account is one SELECT: ``get_or_create`` (its savepoint, and the
name it would give) only runs when the account is missing.
"""

from accounts.models import Market, Membership
from cagette.i18n import stored_language

from ..models import Account, AccountKind


def market_account(market: Market, kind: str) -> Account:
    """The market's system account of this kind (created on first use)."""
    if kind in (AccountKind.CLIENT, AccountKind.SALES):
        raise ValueError(f"{kind} accounts are not one per market")
    account = Account.objects.filter(market=market, kind=kind).first()
    if account is not None:
        return account
    with stored_language():
        name = str(AccountKind(kind).label)
    account, _ = Account.objects.get_or_create(market=market, kind=kind, defaults={"name": name})
    return account


def sales_account(market: Market, producer=None) -> Account:
    """Sales, per producer when given (what the market owes that producer)."""
    account = Account.objects.filter(
        market=market, kind=AccountKind.SALES, producer=producer
    ).first()
    if account is not None:
        return account
    with stored_language():
        name = str(AccountKind.SALES.label) + (f" — {producer.name}" if producer else "")
    account, _ = Account.objects.get_or_create(
        market=market, kind=AccountKind.SALES, producer=producer, defaults={"name": name}
    )
    return account


def client_account(membership: Membership) -> Account:
    account = Account.objects.filter(membership=membership).first()
    if account is not None:
        return account
    account, _ = Account.objects.get_or_create(
        membership=membership,
        defaults={
            "market_id": membership.market_id,
            "kind": AccountKind.CLIENT,
            "name": membership.user.display_name,
        },
    )
    return account


def client_accounts(memberships) -> dict[int, Account]:
    """Each membership's client account, by membership id: one query for those
    that exist, `client_account` for a missing one."""
    found = {a.membership_id: a for a in Account.objects.filter(membership__in=memberships)}
    for membership in memberships:
        if membership.pk not in found:
            found[membership.pk] = client_account(membership)
    return found
