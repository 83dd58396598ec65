"""The accounts of a market's chart: its system accounts, sales, one per client.

Each is created on first use, named in the market's stored language. A look-up
of an existing account is one SELECT: ``get_or_create`` (its savepoint, and the
name it would give) only runs when the account is missing.

A posting needs only an account's identity, which never changes: `market_ref`
and `client_ref` remember it per process and give a reference without a query
once it is known. A reference is not a reading: its ``balance`` is not the
account's. The posting statement checks each reference against its row
(`payments.ledger.statement`), and `ref_refresh` looks it up again if the row
is not what the reference says.

An account's cached balance is its row's ``balance``, plus its parts for a
shared account (`payments.models.BalanceSlot`): `account_balance` reads it,
`with_balance` adds it to a query of accounts.
"""

from decimal import Decimal

from django.db import connection, transaction
from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import Market, Membership
from cagette.i18n import stored_language
from cagette.money import ZERO

from ..models import MONEY, Account, AccountKind, BalanceSlot


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


# (database, market id, kind, membership id) -> account id, for this process.
_IDS: dict[tuple, int] = {}
_IDS_MAX = 100_000  # a bound, far above any market's clients: forgotten past it


def _key(market_id: int, kind: str, membership_id: int | None) -> tuple:
    return (connection.settings_dict["NAME"], market_id, str(kind), membership_id)


def _remember(key: tuple, pk: int) -> None:
    """Remember ``pk`` once the transaction that read it commits: an account
    created by a transaction that rolls back is never remembered, nor one
    another transaction cannot see yet."""

    def remember() -> None:
        if len(_IDS) >= _IDS_MAX:
            _IDS.clear()
        _IDS[key] = pk

    transaction.on_commit(remember)


def _ref(key: tuple, look_up) -> Account:
    pk = _IDS.get(key)
    if pk is None:
        account = look_up()
        _remember(key, account.pk)
        return account
    _database, market_id, kind, membership_id = key
    ref = Account(pk=pk, market_id=market_id, kind=kind, membership_id=membership_id)
    ref._state.adding = False
    return ref


def market_ref(market: Market, kind: str) -> Account:
    """The market's system account of this kind, to post to (see the module)."""
    return _ref(_key(market.pk, kind, None), lambda: market_account(market, kind))


def client_ref(membership: Membership) -> Account:
    """The client's account, to post to (see the module)."""
    key = _key(membership.market_id, AccountKind.CLIENT, membership.pk)
    return _ref(key, lambda: client_account(membership))


def ref_refresh(account: Account) -> Account:
    """``account``'s row read again by what it is (a reference the statement refused)."""
    key = _key(account.market_id, account.kind, account.membership_id)
    _IDS.pop(key, None)
    if account.membership_id is not None:
        membership = Membership.objects.select_related("user").get(pk=account.membership_id)
        fresh = client_account(membership)
    else:
        fresh = market_account(Market.objects.get(pk=account.market_id), account.kind)
    _remember(key, fresh.pk)
    return fresh


def with_balance(accounts: QuerySet) -> QuerySet:
    """``accounts``, each with ``cached_balance``: its row's balance plus its parts."""
    parts = (
        BalanceSlot.objects.filter(account=OuterRef("pk"))
        .values("account")
        .annotate(total=Sum("balance"))
        .values("total")
    )
    money = DecimalField(**MONEY)
    return accounts.annotate(
        cached_balance=F("balance") + Coalesce(Subquery(parts, output_field=money), Value(ZERO))
    )


def account_balance(account: Account) -> Decimal:
    """``account``'s cached balance, read now (debit-positive, see `payments.models`)."""
    rows = with_balance(Account.objects.filter(pk=account.pk))
    return rows.values_list("cached_balance", flat=True).get()
