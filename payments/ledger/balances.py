"""Reads behind « Solde des clients »: every client's balance, and the market's totals.

Every figure comes from the cached ``Account.balance`` (kept equal to the sum
of the account's entries by the posting service), never from summing entries:
the page costs the same few queries whether a market has ten clients or ten
thousand. The stored balance is debit-positive; a client *holds* minus it (see
`payments.models`): conditions below compare the stored balance, and only
`ClientBalance.held` turns it into what people read.
"""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import STAFF_ROLES, Market, Membership
from cagette.money import ZERO, format_euros
from cagette.search import clean_search

from ..models import MONEY, Account, AccountKind

EXPORT_CHUNK = 2000


@dataclass(frozen=True)
class BalanceState:
    slug: str  # the value of the ``etat`` parameter
    label: str  # one client's badge
    plural: str  # the filter
    css: str
    badge: str
    condition: Q  # on Membership


DEBTOR = BalanceState(
    slug="debiteurs",
    label=_("Débiteur"),
    plural=_("Débiteurs"),
    css="balance-debt",
    badge="text-bg-danger",
    condition=Q(account__balance__gt=0),
)
CREDITOR = BalanceState(
    slug="crediteurs",
    label=_("Créditeur"),
    plural=_("Créditeurs"),
    css="balance-credit",
    badge="text-bg-success",
    condition=Q(account__balance__lt=0),
)

SETTLED = BalanceState(
    slug="a-jour",
    label=_("À jour"),
    plural=_("À jour"),
    css="balance-zero",
    badge="text-bg-secondary",
    condition=Q(account__balance=0),
)
STATES = {state.slug: state for state in (DEBTOR, CREDITOR, SETTLED)}


def state_of(held: Decimal) -> BalanceState:
    if held < 0:
        return DEBTOR
    if held > 0:
        return CREDITOR
    return SETTLED


def _by_name(descending: bool = False) -> list:
    # The email breaks ties between namesakes and names people without one;
    # the pk keeps pages stable.
    fields = ("user__last_name", "user__first_name", "user__email", "pk")
    return [F(field).desc() if descending else F(field).asc() for field in fields]


@dataclass(frozen=True)
class Sort:
    label: str
    ordering: list


SORTS = {
    "nom": Sort(_("nom, de A à Z"), _by_name()),
    "-nom": Sort(_("nom, de Z à A"), _by_name(descending=True)),
    # Smallest holding first means the largest stored (debit-positive) balance
    # first: the biggest debts head the list, which is what a treasurer chases.
    "solde": Sort(_("solde croissant"), [F("account__balance").desc(), *_by_name()]),
    "-solde": Sort(_("solde décroissant"), [F("account__balance").asc(), *_by_name()]),
}
DEFAULT_SORT = "nom"


@dataclass(frozen=True)
class BalanceFilters:
    """What the person asked to see: search text, state and sort order."""

    search: str = ""
    state: BalanceState | None = None
    sort: str = DEFAULT_SORT

    @classmethod
    def from_query(cls, query) -> "BalanceFilters":
        """Read GET parameters; anything unexpected falls back to the default."""
        search = clean_search(query.get("q"))
        sort = query.get("tri", "")
        return cls(
            search=search,
            state=STATES.get(query.get("etat", "")),
            sort=sort if sort in SORTS else DEFAULT_SORT,
        )

    @property
    def is_default(self) -> bool:
        return self == BalanceFilters()

    def params(self) -> dict[str, str]:
        params = {}
        if self.search:
            params["q"] = self.search
        if self.state:
            params["etat"] = self.state.slug
        if self.sort != DEFAULT_SORT:
            params["tri"] = self.sort
        return params

    def query_string(self, **changes) -> str:
        """These filters (with ``changes``) as a query string, without the page."""
        return urlencode(replace(self, **changes).params())

    def toggled_sort(self, column: str) -> str:
        """Clicking a sorted column's header reverses its order."""
        return f"-{column}" if self.sort == column else column

    def description(self) -> list[str]:
        """The filters in words, for the printed export."""
        state = str(self.state.plural).lower() if self.state else gettext("tous")
        parts = [gettext("Clients : %(state)s") % {"state": state}]
        if self.search:
            parts.append(gettext("Recherche : « %(text)s »") % {"text": self.search})
        parts.append(gettext("Tri : %(sort)s") % {"sort": SORTS[self.sort].label})
        return parts


def staff_who_do_not_buy(market: Market) -> QuerySet[Membership]:
    """The admins and treasurers « Solde des clients » leaves out: no clients of theirs.

    The page lists the people who buy: every client, and an admin or
    treasurer only once they have ordered or have a movement on their
    account. Counting the staff who only run the market would inflate
    « dont … à jour ».
    """
    return Membership.objects.for_market(market).filter(
        role__in=STAFF_ROLES, orders__isnull=True, account__entries__isnull=True
    )


def client_balances(market: Market, filters: BalanceFilters) -> QuerySet[Membership]:
    """The market's buyers, filtered and sorted; `balance_rows` reads their balances."""
    # A few ids, read first: against a constant list PostgreSQL still walks
    # the name index for one page of a large market (a subquery would make it
    # sort the whole market).
    left_out = list(staff_who_do_not_buy(market).values_list("pk", flat=True))
    # Only the filters join other tables: counting the unfiltered market
    # stays a scan of its memberships.
    clients = Membership.objects.for_market(market).exclude(pk__in=left_out)
    clients = clients.search(filters.search)
    if filters.state:
        clients = clients.filter(filters.state.condition)
    return clients.order_by(*SORTS[filters.sort].ordering)


@dataclass(frozen=True)
class ClientBalance:
    membership_id: int
    last_name: str
    first_name: str
    email: str
    held: Decimal

    @property
    def name(self) -> str:
        # Last name first: the list is sorted by it.
        return f"{self.last_name} {self.first_name}".strip() or self.email

    @property
    def state(self) -> BalanceState:
        return state_of(self.held)


def balance_rows(clients: QuerySet[Membership], *, stream: bool = False) -> Iterator[ClientBalance]:
    """One `ClientBalance` per membership, read as plain values (no model instances).

    ``stream`` fetches in chunks, for exports of a whole market.
    """
    values = clients.values_list(
        "pk", "user__last_name", "user__first_name", "user__email", "account__balance"
    )
    if stream:
        values = values.iterator(chunk_size=EXPORT_CHUNK)
    for pk, last_name, first_name, email, balance in values:
        # A membership always gets its account; an absent one owes nothing.
        held = -balance if balance is not None else ZERO
        yield ClientBalance(pk, last_name, first_name, email, held)


def page_rows(page_clients: QuerySet[Membership], filters: BalanceFilters) -> list[ClientBalance]:
    """The rows of one page (``page_clients`` is a slice of `client_balances`)."""
    # Sorting by name only needs the users: pick the page's memberships first,
    # and join the balances of those few rows, not of the whole market.
    shown = Membership.objects.filter(pk__in=page_clients.values("pk"))
    return list(balance_rows(shown.order_by(*SORTS[filters.sort].ordering)))


@dataclass(frozen=True)
class BalanceTotals:
    owed_to_market: Decimal  # the clients' debts, as a positive amount
    held_for_clients: Decimal  # the clients' credits (avoirs)
    debtors: int
    creditors: int
    settled: int

    @property
    def net(self) -> Decimal:
        """Credits minus debts: what the market holds for its clients, on balance."""
        return self.held_for_clients - self.owed_to_market

    @property
    def net_state(self) -> BalanceState:
        return state_of(self.net)

    @property
    def clients(self) -> int:
        return self.debtors + self.creditors + self.settled


def balance_totals(market: Market) -> BalanceTotals:
    """The totals of the market's buyers, in one aggregate over the cached balances."""
    zero = Value(ZERO, output_field=DecimalField(**MONEY))
    owes, holds, settled = Q(balance__gt=0), Q(balance__lt=0), Q(balance=0)
    # Staff who do not buy have no entries, so a zero balance: they are taken
    # off the settled count, and the sums stay one pass over the accounts.
    left_out = staff_who_do_not_buy(market).order_by().values("market")
    left_out = Subquery(left_out.annotate(n=Count("pk")).values("n"))
    sums = Account.objects.filter(market=market, kind=AccountKind.CLIENT).aggregate(
        debts=Coalesce(Sum("balance", filter=owes), zero),
        credits=Coalesce(Sum("balance", filter=holds), zero),
        debtors=Count("pk", filter=owes),
        creditors=Count("pk", filter=holds),
        settled=Count("pk", filter=settled) - Coalesce(left_out, 0),
    )
    return BalanceTotals(
        owed_to_market=sums["debts"],
        held_for_clients=abs(sums["credits"]),
        debtors=sums["debtors"],
        creditors=sums["creditors"],
        settled=sums["settled"],
    )


def balance_sentence(held) -> str:
    """The balance in words, as the client reads it."""
    if held > 0:
        return gettext("Vous avez un avoir de %(amount)s.") % {"amount": format_euros(held)}
    if held < 0:
        return gettext("Vous devez %(amount)s au marché.") % {"amount": format_euros(-held)}
    return gettext("Votre compte est à jour.")
