"""Access to market pages: every view is scoped to one market and one role.

`market_view` resolves the market from the URL and the signed-in person's
membership in it. Someone who is not a member gets a 404 (a market they do not
belong to does not exist for them); a member whose role is not allowed gets a
403. `SessionStore` (settings.SESSION_ENGINE) reads who is signed in.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.sessions.backends import db as db_sessions
from django.core.exceptions import PermissionDenied
from django.db import connections, router
from django.http import Http404
from django.utils import timezone

from .models import STAFF_ROLES, Membership, Role

SESSION_MARKET_KEY = "market_slug"


class SessionStore(db_sessions.SessionStore):
    """Django's sessions in the database, each request's read in one plain statement.

    Every page for a signed-in person reads their session first: Django's
    query builder took longer to write that one-row look-up than PostgreSQL
    to answer it. The rest is Django's: the session is written, renewed and,
    at logout, deleted from the database, so a session signed out is gone for
    every process at once.
    """

    def load(self):
        model = self.model
        connection = connections[router.db_for_read(model)]
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",
                [self.session_key, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        return self.decode(row[0])


def memberships_of(user) -> list[Membership]:
    """The person's memberships with their markets, by market name.

    Each membership's ``user`` is ``user`` itself, not a copy read again by a join.
    """
    memberships = list(
        Membership.objects.filter(user_id=user.pk).select_related("market").order_by("market__name")
    )
    for membership in memberships:
        membership.user = user
    return memberships


def get_membership_for_user(user, market_slug: str, memberships=None) -> Membership:
    """The person's membership in the market (404 if none), among ``memberships`` if given."""
    for membership in memberships_of(user) if memberships is None else memberships:
        if membership.market.slug == market_slug:
            return membership
    raise Http404


def market_view(*roles: str):
    """Decorate a view taking ``(request, market_slug, ...)``.

    Sets ``request.market`` and ``request.membership`` (and
    ``request.my_memberships``, all of the person's); with ``roles``, only
    those roles may enter.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, market_slug, *args, **kwargs):
            # Read once for both: the market switcher of every page lists them
            # (`accounts.context_processors.markets`).
            request.my_memberships = memberships_of(request.user)
            membership = get_membership_for_user(request.user, market_slug, request.my_memberships)
            # Set before the role check: the 403 page leads back to this market's home.
            request.market = membership.market
            request.membership = membership
            if roles and membership.role not in roles:
                raise PermissionDenied
            if request.session.get(SESSION_MARKET_KEY) != membership.market.slug:
                # Only on change: writing it every time would save the session on every page.
                request.session[SESSION_MARKET_KEY] = membership.market.slug
                Membership.objects.filter(pk=membership.pk).update(last_visited_at=timezone.now())
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


staff_view = market_view(*STAFF_ROLES)
admin_view = market_view(Role.ADMIN)
member_view = market_view()
